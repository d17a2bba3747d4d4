/**
 * A full control-plane outage seen from a client whose network path is also cut, as in the lab's
 * agent test (test/lab/agent/agent.test.ts, "keeps instances running through a full control-plane
 * outage"), without the lab: the three members are stopped (connections refused), then the
 * client's path to them is cut so that packets vanish (an nftables table `zrh2-<pid>` dropping
 * everything to and from the members' client ports; etcdctl uses other ports of the members), the
 * members come back and the key changes while the client is away, then the path is restored.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import { ControlPlaneClient as H2Client } from "../../../lib/controlplane/client-h2";
import {
  ControlPlaneClient as Etcd3Client,
  ControlPlaneError,
  type ControlPlaneClientOptions,
  type KeyValueClient,
} from "../../../lib/controlplane";
import { startTestCluster, type TestCluster } from "./etcd-cluster";

/** How long after the path is restored the client must get, put and see its watch's events. */
const RECOVERY_BOUND_MS = 45_000;
const TIMEOUT_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the first value `attempt` yields (not undefined), polling; fails after `ms`. */
async function within<T>(ms: number, what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await attempt();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

/**
 * The client shares this process's event loop, and so do mocha's timeouts: a client that spins it
 * (client-h2 did, inside Node's HTTP/2) would hang the run. A worker thread watches a heartbeat;
 * after `stallMs` without one it says so, removes the cut, kills the members and this process.
 */
function watchdog(table: string, stallMs: number): { members(pids: number[]): void; stop(): void } {
  const shared = new Int32Array(new SharedArrayBuffer(4 * 8)); // [0] heartbeat (s since start), [1..] pids
  const start = Date.now();
  const beat = setInterval(() => Atomics.store(shared, 0, Math.floor((Date.now() - start) / 1000)), 250);
  const code = `
    const { workerData: w } = require("node:worker_threads");
    const { execFileSync } = require("node:child_process");
    setInterval(() => {
      if (Date.now() - (w.start + Atomics.load(w.shared, 0) * 1000) < w.stallMs) return;
      require("node:fs").writeSync(2, "\\n  FAILED: the event loop did not run for " + w.stallMs / 1000 +
        " s (the client under test blocks it); removing the cut, killing the members and this process\\n");
      try { execFileSync("nft", ["delete", "table", "inet", w.table], { stdio: "ignore" }); } catch {}
      for (let i = 1; i < w.shared.length; i++) {
        const pid = Atomics.load(w.shared, i);
        if (pid > 0) try { process.kill(pid, "SIGKILL"); } catch {}
      }
      process.kill(process.pid, "SIGKILL");
    }, 1000);`;
  const worker = new Worker(code, { eval: true, workerData: { shared, start, stallMs, table } });
  worker.unref();
  return {
    members: (pids) => pids.forEach((pid, i) => Atomics.store(shared, 1 + i, pid)),
    stop: () => {
      clearInterval(beat);
      void worker.terminate();
    },
  };
}

/** Packets to and from `ports` on this host vanish (dropped, never refused) until `restore`. */
const TABLE = `zrh2-${process.pid}`;

function cutPorts(ports: readonly number[]): { restore(): void } {
  const table = TABLE;
  const set = `{ ${ports.join(", ")} }`;
  execFileSync("nft", ["-f", "-"], {
    input: `table inet ${table} {
  chain out {
    type filter hook output priority 0; policy accept;
    tcp dport ${set} drop
    tcp sport ${set} drop
  }
}
`,
  });
  let restored = false;
  return {
    restore: () => {
      if (!restored) execFileSync("nft", ["delete", "table", "inet", table]);
      restored = true;
    },
  };
}

const unanswered = (e: unknown) => {
  assert.ok(e instanceof ControlPlaneError, `not a ControlPlaneError: ${String(e)}`);
  assert.ok(e.kind === "unreachable" || e.kind === "timeout", `kind ${e.kind}: ${e.message}`);
  return true;
};

const CLIENTS: { name: string; Client: new (o: ControlPlaneClientOptions) => KeyValueClient }[] = [
  { name: "the agent's HTTP/2 client (client-h2.ts)", Client: H2Client },
  { name: "the etcd3 client (client.ts)", Client: Etcd3Client },
];

for (const { name, Client } of CLIENTS)
  describe(`${name}: all members down and its network path cut, then both back`, function () {
    this.timeout(240_000);
    let cluster: TestCluster;
    let client: KeyValueClient | undefined;
    let cut: { restore(): void } | undefined;
    let dog: ReturnType<typeof watchdog> | undefined;

    before(async () => {
      cluster = await startTestCluster();
      dog = watchdog(TABLE, 30_000);
      dog.members(cluster.memberPids());
    });
    after(async () => {
      dog?.stop();
      cut?.restore();
      client?.close();
      await cluster?.stop();
    });

    async function healthy(): Promise<void> {
      await within(60_000, "the members healthy again", () =>
        cluster.etcdctl(["endpoint", "health"]).then(
          () => true,
          () => undefined,
        ),
      );
    }

    it(`resumes gets, puts and its watch (no event lost after its revision) within ${RECOVERY_BOUND_MS / 1000} s of the path's return`, async () => {
      const c = (client = new Client({
        endpoints: cluster.endpoints,
        identity: cluster.alice,
        timeoutMs: TIMEOUT_MS,
      }));
      await c.put("/t/o", "before");
      const events: string[] = [];
      const connectedAt: number[] = [];
      let disconnected = 0;
      await c.watch("/t/o", {
        onPut: (_k, v) => events.push(v),
        onDelete: () => events.push("(deleted)"),
        onDisconnected: () => disconnected++,
        onConnected: () => connectedAt.push(Date.now()),
      });
      // as the agent: two more watches on the same client (its freshness key, its requests prefix)
      const others: string[] = [];
      await c.watch("/t/f", { onPut: (k, v) => others.push(`${k}=${v}`) });
      await c.watch("/t/r/", { onPut: (k, v) => others.push(`${k}=${v}`) }, { prefix: true });

      for (let i = 0; i < cluster.endpoints.length; i++) await cluster.stopMember(i);
      await assert.rejects(c.get("/t/o"), unanswered);
      await sleep(8000); // the outage lasts: the client keeps retrying on its own

      cut = cutPorts(cluster.clientPorts);
      for (let i = 0; i < cluster.endpoints.length; i++) cluster.startMember(i);
      dog?.members(cluster.memberPids());
      await healthy();
      await cluster.etcdctl(["put", "/t/o", "while away 1"]);
      await cluster.etcdctl(["put", "/t/o", "while away 2"]);
      const asked = Date.now();
      await assert.rejects(c.get("/t/o"), unanswered);
      const took = Date.now() - asked;
      assert.ok(
        took < TIMEOUT_MS + 1500,
        `a call with packets vanishing took ${took} ms (deadline ${TIMEOUT_MS})`,
      );
      await sleep(3000);
      assert.equal(events.length, 0, `nothing can arrive while the path is cut: ${events.join(", ")}`);

      cut.restore();
      const back = Date.now();
      const left = () => RECOVERY_BOUND_MS - (Date.now() - back);
      const value = await within(left(), "a get answered", () => c.get("/t/o").catch(() => undefined));
      const gotAfter = Date.now() - back;
      assert.equal(value, "while away 2");
      await c.put("/t/o", "after"); // once: a retried put could be applied twice
      await within(left(), `the watch to resume (events: ${events.join(", ")})`, async () =>
        events.includes("after") ? true : undefined,
      );
      const watchAfter = Date.now() - back;
      assert.deepEqual(events, ["while away 1", "while away 2", "after"]);
      await cluster.etcdctl(["put", "/t/r/1", "request"]);
      await within(left(), "the other watches to resume", async () => (others.length ? true : undefined));
      assert.deepEqual(others, ["/t/r/1=request"]);
      assert.ok(disconnected >= 1, "onDisconnected was called during the outage");
      assert.ok(
        connectedAt.some((t) => t >= back),
        `onConnected after the path's return (${connectedAt.length} calls in all)`,
      );
      console.log(
        `      get ${(gotAfter / 1000).toFixed(1)} s, watch ${(watchAfter / 1000).toFixed(1)} s after the path's return`,
      );
    });
  });
