/**
 * A process that uses the etcd3 control-plane client the way a site service or `zeroroot drift`
 * does (get, put, a watch, a member lost under it), then calls close() and returns: nothing keeps
 * it alive unless close() left something open. Run by close.test.ts with tsx; talks over stdio:
 *  - stdin, first line: JSON { endpoints, identity } (the private key never goes on a command line);
 *  - stdout "ready": the watch is established; then stdin "failover" or "close" (see below);
 *  - stdout "closed": close() was called; the process must then exit by itself.
 * On "failover" it reads the key until the parent's "while away" is there (the parent stopped a
 * member and wrote it), waits for its watch to deliver it too, then closes. On "close" it closes
 * at once (the parent stopped every member: the watch is trying to reconnect).
 */
import { createInterface } from "node:readline";
import { ControlPlaneClient } from "../../../lib/controlplane/client";
import type { ClientIdentity } from "../../../lib/controlplane";

const KEY = "/t/close";

async function main(): Promise<void> {
  const input = createInterface({ input: process.stdin });
  const lines = input[Symbol.asyncIterator]();
  const next = async () => String((await lines.next()).value ?? "");
  const setup = JSON.parse(await next()) as { endpoints: string[]; identity: ClientIdentity };
  const client = new ControlPlaneClient({ ...setup, timeoutMs: 3000 });
  await client.put(KEY, "before");
  if ((await client.get(KEY)) !== "before") throw new Error("get did not return the put value");
  const seen: string[] = [];
  await client.watch(KEY, { onPut: (_k, v) => seen.push(v) });
  console.log("ready");
  const order = await next();
  if (order === "failover") {
    const end = Date.now() + 20_000;
    while ((await client.get(KEY)) !== "while away" || !seen.includes("while away")) {
      if (Date.now() > end)
        throw new Error(`the value written while away did not arrive (watch: ${seen.join(", ")})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } else if (order !== "close") throw new Error(`unknown order ${JSON.stringify(order)}`);
  input.close();
  process.stdin.destroy();
  client.close();
  console.log("closed");
  // unref'd: says what is still open if the process outlives the parent's bound, without holding it
  setTimeout(
    () => console.error(`still open: ${process.getActiveResourcesInfo().join(", ")}`),
    10_000,
  ).unref();
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
