/**
 * A control-plane client in a child process, for tests and lab checks that must run where an agent
 * runs: inside a namespace (`ip netns exec <ns> node --import tsx probe.ts`), which resolves the
 * members' DNS names. Reads JSON lines on stdin, answers JSON lines on stdout:
 *   {"id":1,"op":"connect","name":"a","endpoints":[…],"identity":{…},"timeoutMs":3000}
 *   {"id":2,"op":"get"|"put"|"delete"|"watch","name":"a","key":"/…","value":"…"}
 *   {"id":3,"op":"close","name":"a"}
 * Answers {"id":…,"ok":true,"value":…} or {"id":…,"ok":false,"kind":…,"message":…}; watches emit
 * {"watch":<id>,"event":"put"|"delete","key":…,"value":…}.
 */
import * as readline from "node:readline";
import { ControlPlaneClient, ControlPlaneError, type ClientIdentity } from "../../lib/controlplane";

interface Command {
  readonly id: number;
  readonly op: "connect" | "get" | "put" | "delete" | "watch" | "close";
  readonly name: string;
  readonly endpoints?: string[];
  readonly identity?: ClientIdentity;
  readonly timeoutMs?: number;
  readonly key?: string;
  readonly value?: string;
}

const clients = new Map<string, ControlPlaneClient>();
const send = (msg: unknown): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);

function clientOf(name: string): ControlPlaneClient {
  const c = clients.get(name);
  if (!c) throw new Error(`no client named "${name}"; send a connect first`);
  return c;
}

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case "connect":
      clients.get(cmd.name)?.close();
      clients.set(
        cmd.name,
        new ControlPlaneClient({
          endpoints: cmd.endpoints ?? [],
          identity: cmd.identity as ClientIdentity,
          timeoutMs: cmd.timeoutMs,
        }),
      );
      return null;
    case "get":
      return (await clientOf(cmd.name).get(cmd.key ?? "")) ?? null;
    case "put":
      await clientOf(cmd.name).put(cmd.key ?? "", cmd.value ?? "");
      return null;
    case "delete":
      await clientOf(cmd.name).delete(cmd.key ?? "");
      return null;
    case "watch":
      await clientOf(cmd.name).watch(cmd.key ?? "", {
        onPut: (key, value) => send({ watch: cmd.id, event: "put", key, value }),
        onDelete: (key) => send({ watch: cmd.id, event: "delete", key }),
      });
      return null;
    case "close":
      clientOf(cmd.name).close();
      clients.delete(cmd.name);
      return null;
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const cmd = JSON.parse(line) as Command;
  handle(cmd).then(
    (value) => send({ id: cmd.id, ok: true, value }),
    (e: unknown) =>
      send({
        id: cmd.id,
        ok: false,
        kind: e instanceof ControlPlaneError ? e.kind : "error",
        message: (e as Error).message,
      }),
  );
});
rl.on("close", () => {
  for (const c of clients.values()) c.close();
  process.exit(0);
});
