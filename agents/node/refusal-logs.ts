/**
 * Connections the node's datastores refused, raised as `datastore-refusal` alerts with evidence.
 * Each pass, per datastore instance: one stat of its log (the supervisord log of the program that
 * writes the datastore's stderr, group-readable by zr-agent), then only the bytes added since the
 * last pass, at most REFUSAL_LIMITS.readBytes. A log that shrank or was replaced (supervisord
 * rotates at 1 MB) is read from its start, after the rest of the rotated file (`.1`) when that is
 * still the file last read. A log first seen is read from its end: a restarted agent raises no
 * refusal twice, and none from before it looked.
 */
import { closeSync, openSync, readSync, statSync, type Stats } from "node:fs";
import {
  completeLines,
  datastoreLogOf,
  findRefusals,
  newRefusalMemory,
  REFUSAL_LIMITS,
  type DatastoreEngine,
  type RefusalMemory,
} from "../../lib/agent/datastore-refusals";
import { RefusalWindows, type RefusalAlert } from "../../lib/agent/refusal-windows";
import type { InstanceRecord } from "../../lib/agent/state";
import type { AgentContext } from "./context";

interface Cursor {
  dev: number;
  ino: number;
  offset: number;
  skipping: boolean;
  readonly memory: RefusalMemory;
}

/** Bytes of `file` from `offset`, at most `max` (fewer at its end); empty when it cannot be read. */
function readFrom(file: string, offset: number, max: number): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, offset);
    return buf.subarray(0, n);
  } catch {
    return Buffer.alloc(0);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const statOf = (file: string): Stats | undefined => {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
};

/** One datastore log followed across passes: the lines added since the last call. */
export class LogFollower {
  private cursor?: Cursor;

  constructor(
    readonly file: string,
    private readonly readBytes: number = REFUSAL_LIMITS.readBytes,
  ) {}

  /** Complete new lines (bounded); the first call only finds the end unless `fromStart`. */
  next(fromStart = false): string[] {
    const st = statOf(this.file);
    if (!st) return [];
    const c = this.cursor;
    if (!c) {
      this.cursor = {
        dev: st.dev,
        ino: st.ino,
        offset: fromStart ? 0 : st.size,
        skipping: false,
        memory: newRefusalMemory(),
      };
      return fromStart ? this.read(this.file, this.cursor) : [];
    }
    if (c.dev !== st.dev || c.ino !== st.ino) {
      // rotated: the rest of the file last read, if it is still there, then the new one from 0
      const old = statOf(`${this.file}.1`);
      const rest = old && old.dev === c.dev && old.ino === c.ino ? this.read(`${this.file}.1`, c) : [];
      Object.assign(c, { dev: st.dev, ino: st.ino, offset: 0, skipping: false });
      return [...rest, ...this.read(this.file, c)];
    }
    if (st.size < c.offset) Object.assign(c, { offset: 0, skipping: false }); // truncated
    return st.size > c.offset ? this.read(this.file, c) : [];
  }

  /** What the log's parser carries between passes. */
  memory(): RefusalMemory {
    return this.cursor?.memory ?? newRefusalMemory();
  }

  private read(file: string, c: Cursor): string[] {
    const chunk = readFrom(file, c.offset, this.readBytes);
    const r = completeLines(chunk, c.skipping, {
      readBytes: this.readBytes,
      lineBytes: REFUSAL_LIMITS.lineBytes,
    });
    c.offset += r.consumed;
    c.skipping = r.skipping;
    return r.lines;
  }
}

/** The agent's followers and windows, per instance (one per context: offsets last the agent's run). */
class RefusalLogs {
  private readonly followers = new Map<string, { follower: LogFollower; engine: DatastoreEngine }>();
  readonly windows = new RefusalWindows();

  pass(ctx: AgentContext, now: number): void {
    const seen = new Set<string>();
    for (const rec of Object.values(ctx.state.instances)) {
      const ds = datastoreLogOf(rec.release.name);
      if (!ds || rec.phase === "stopped") continue;
      const file = `${ctx.paths(rec.partition.user).logDir}/${ds.program}.log`;
      seen.add(rec.name);
      let f = this.followers.get(rec.name);
      if (!f || f.follower.file !== file) {
        f = { follower: new LogFollower(file), engine: ds.engine };
        this.followers.set(rec.name, f);
      }
      const refusals = findRefusals(f.engine, f.follower.next(), f.follower.memory());
      for (const a of this.windows.take(rec.name, refusals, now)) raise(ctx, rec, a);
    }
    for (const name of [...this.followers.keys()])
      if (!seen.has(name)) {
        this.followers.delete(name);
        this.windows.forget(name);
      }
  }
}

function raise(ctx: AgentContext, rec: InstanceRecord, a: RefusalAlert): void {
  const r = a.refusal;
  const who =
    a.pairs !== undefined
      ? `${a.count} more connections of ${a.pairs} user/address pairs`
      : `a connection as "${r.user}" from ${r.clientAddress || "an unlogged address"}${a.count > 1 ? ` (${a.count} times)` : ""}`;
  ctx.alert(undefined, {
    kind: "datastore-refusal",
    severity: "warning",
    instance: rec.name,
    detail: `${r.engine} instance ${rec.name} refused ${who}: ${r.reason}`,
    evidence: {
      engine: r.engine,
      user: r.user,
      clientAddress: r.clientAddress,
      reason: r.reason,
      line: r.line,
      count: a.count,
      ...(a.pairs !== undefined ? { pairs: a.pairs } : {}),
      partition: rec.partition.user,
    },
  });
}

const byContext = new WeakMap<AgentContext, RefusalLogs>();

/** One pass over the node's datastore logs: new refusals raised as alerts (bounded per window). */
export function watchRefusals(ctx: AgentContext, now = Date.now()): void {
  let r = byContext.get(ctx);
  if (!r) {
    r = new RefusalLogs();
    byContext.set(ctx, r);
  }
  r.pass(ctx, now);
}
