/**
 * The agent's state on disk: one JSON file, mode 0600, written atomically (writeFileAtomic). Read back
 * as untrusted input: a file that cannot be read as a state file (truncated, corrupt) is set aside
 * under a timestamped name for inspection, and the agent starts with an empty state instead of failing
 * at every start.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseBoundedJson } from "../../lib/release";
import { emptyState, parseState, type AgentState } from "../../lib/agent/state";
import { syncFolder, writeFileAtomic } from "./atomic";

/** Largest state file read back: 1,000 instances and their releases' signed manifests fit well within. */
const MAX_STATE_BYTES = 256 << 20;

export interface LoadedState {
  readonly state: AgentState;
  /** Set when the file could not be read as a state file, with the evidence an alert carries. */
  readonly unreadable?: {
    readonly error: string;
    readonly digest: string;
    readonly bytes: number;
    readonly setAsideAs: string;
  };
}

export class StateStore {
  readonly file: string;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = join(dir, "state.json");
  }

  load(): LoadedState {
    const size = statSync(this.file, { throwIfNoEntry: false })?.size;
    if (size === undefined) return { state: emptyState() };
    let error: string;
    let bytes = Buffer.alloc(0);
    if (size > MAX_STATE_BYTES) error = `${size} bytes; at most ${MAX_STATE_BYTES} are read`;
    else {
      bytes = readFileSync(this.file);
      const parsed = parseBoundedJson(bytes, { maxBytes: MAX_STATE_BYTES, maxDepth: 32 }, this.file);
      if (parsed.ok) {
        try {
          return { state: parseState(parsed.value, this.file) };
        } catch (e) {
          error = (e as Error).message;
        }
      } else error = `${parsed.reason}: ${parsed.detail}`;
    }
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    return { state: emptyState(), unreadable: { error, digest, bytes: size, setAsideAs: this.setAside() } };
  }

  /** Renames the state file to `state.json.set-aside-<timestamp>` (kept as evidence); returns that path. */
  setAside(): string {
    const to = `${this.file}.set-aside-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    renameSync(this.file, to);
    syncFolder(this.dir);
    return to;
  }

  save(state: AgentState): void {
    writeFileAtomic(this.file, JSON.stringify(state), 0o600);
  }
}
