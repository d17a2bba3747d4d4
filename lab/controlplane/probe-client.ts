/** The parent side of probe.ts: start a control-plane client inside a namespace and drive it. */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";
import type { ClientIdentity } from "../../lib/controlplane";

export interface ProbeAnswer {
  readonly ok: boolean;
  readonly value?: string | null;
  readonly kind?: string;
  readonly message?: string;
}

export interface ProbeEvent {
  readonly watch: number;
  readonly event: "put" | "delete";
  readonly key: string;
  readonly value?: string;
}

export class Probe {
  private next = 1;
  private readonly pending = new Map<number, (a: ProbeAnswer) => void>();
  private readonly listeners = new Set<(e: ProbeEvent) => void>();
  readonly events: ProbeEvent[] = [];
  /** What the child printed on stderr (grpc and Node warnings land here). */
  stderr = "";

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      const msg = JSON.parse(line) as ProbeAnswer & ProbeEvent & { id?: number };
      if (msg.id !== undefined) {
        this.pending.get(msg.id)?.(msg);
        this.pending.delete(msg.id);
      } else {
        this.events.push(msg);
        for (const l of this.listeners) l(msg);
      }
    });
  }

  /** Starts the probe inside `namespace`. */
  static start(namespace: string): Probe {
    const root = path.resolve(__dirname, "..", "..");
    const child = spawn(
      "ip",
      ["netns", "exec", namespace, process.execPath, "--import", "tsx", path.join(__dirname, "probe.ts")],
      {
        cwd: root,
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    const probe = new Probe(child);
    child.stderr.on("data", (d: Buffer) => (probe.stderr += d.toString()));
    return probe;
  }

  request(cmd: Record<string, unknown>, timeoutMs = 30_000): Promise<ProbeAnswer> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`probe: no answer to ${String(cmd.op)} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.child.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  }

  connect(
    name: string,
    endpoints: readonly string[],
    identity: ClientIdentity,
    timeoutMs = 3000,
  ): Promise<ProbeAnswer> {
    return this.request({ op: "connect", name, endpoints, identity, timeoutMs });
  }
  get(name: string, key: string): Promise<ProbeAnswer> {
    return this.request({ op: "get", name, key });
  }
  put(name: string, key: string, value: string): Promise<ProbeAnswer> {
    return this.request({ op: "put", name, key, value });
  }
  /** Starts a watch; resolves with its id once established. */
  async watch(name: string, key: string): Promise<number> {
    const id = this.next;
    const a = await this.request({ op: "watch", name, key });
    if (!a.ok) throw new Error(`probe: watch ${key} failed: ${a.kind}: ${a.message}`);
    return id;
  }

  /** Resolves with the first event matching `pred` (already received or future). */
  nextEvent(pred: (e: ProbeEvent) => boolean, timeoutMs = 10_000): Promise<ProbeEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`probe: no matching watch event within ${timeoutMs} ms`));
      }, timeoutMs);
      const l = (e: ProbeEvent): void => {
        if (!pred(e)) return;
        clearTimeout(timer);
        this.listeners.delete(l);
        resolve(e);
      };
      this.listeners.add(l);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const done = new Promise((r) => this.child.once("exit", r));
    this.child.stdin.end();
    await done;
  }
}
