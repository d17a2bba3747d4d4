import { strict as assert } from "node:assert";
import * as net from "node:net";
import { ControlPlaneClient as H2Client } from "../../../lib/controlplane/client-h2";
import {
  ControlPlaneClient as Etcd3Client,
  ControlPlaneError,
  type ControlPlaneClientOptions,
  type KeyValueClient,
} from "../../../lib/controlplane";
import { startTestCluster, type TestCluster } from "./etcd-cluster";

/** Resolves when `check` holds, polling; fails with `what` after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const refusal = (kind: ControlPlaneError["kind"]) => (e: unknown) => {
  assert.ok(e instanceof ControlPlaneError, `not a ControlPlaneError: ${String(e)}`);
  assert.equal(e.kind, kind, e.message);
  return true;
};

/** The same specification for both clients: the agent's (HTTP/2 by hand) and etcd3's. */
const CLIENTS: {
  name: string;
  Client: new (o: ControlPlaneClientOptions) => KeyValueClient;
  /** Uses the endpoints in order (etcd3 picks one at random, so which member it watches on is unknown). */
  inOrder: boolean;
}[] = [
  { name: "the agent's HTTP/2 client (client-h2.ts)", Client: H2Client, inOrder: true },
  { name: "the etcd3 client (client.ts)", Client: Etcd3Client, inOrder: false },
];

for (const { name, Client, inOrder } of CLIENTS)
  describe(`${name} against a real three-member etcd (client-certificate auth)`, function () {
    this.timeout(120_000);
    let cluster: TestCluster;
    const clients: KeyValueClient[] = [];
    const client = (opts: Partial<ControlPlaneClientOptions> = {}) => {
      const c = new Client({
        endpoints: cluster.endpoints,
        identity: cluster.alice,
        timeoutMs: 3000,
        ...opts,
      });
      clients.push(c);
      return c;
    };

    before(async () => {
      cluster = await startTestCluster();
    });
    after(async () => {
      for (const c of clients) c.close();
      await cluster?.stop();
    });

    it("puts, gets (with the modification revision), lists a prefix and deletes, as etcdctl sees them", async () => {
      const c = client();
      await c.put("/t/a", "one");
      await c.put("/t/b/c", "two ü");
      await c.put("/t-not-under-prefix", "x").catch(() => undefined); // outside alice's role either way
      assert.equal(await c.get("/t/a"), "one");
      const entry = await c.getEntry("/t/b/c");
      assert.equal(entry?.value, "two ü");
      assert.match(entry!.modRevision, /^[1-9]\d*$/);
      assert.equal((await cluster.etcdctl(["get", "/t/a", "--print-value-only"])).trim(), "one");
      assert.deepEqual(await c.list("/t/"), { "/t/a": "one", "/t/b/c": "two ü" });
      assert.deepEqual(await c.list("/t/b/"), { "/t/b/c": "two ü" });
      await c.delete("/t/a");
      assert.equal(await c.get("/t/a"), undefined);
      assert.equal((await cluster.etcdctl(["get", "/t/a"])).trim(), "");
    });

    it("watches a key and a prefix: puts and deletes made by etcdctl arrive with their revisions", async () => {
      const c = client();
      const seen: string[] = [];
      const one = await c.watch("/t/w", {
        onPut: (k, v, rev) => seen.push(`put ${k}=${v} @${rev}`),
        onDelete: (k) => seen.push(`delete ${k}`),
      });
      const many = await c.watch(
        "/t/p/",
        { onPut: (k, v) => seen.push(`prefix ${k}=${v}`) },
        { prefix: true },
      );
      await cluster.etcdctl(["put", "/t/w", "1"]);
      await cluster.etcdctl(["put", "/t/p/x", "2"]);
      await cluster.etcdctl(["put", "/t/q", "not watched"]);
      await cluster.etcdctl(["del", "/t/w"]);
      await until(() => seen.length >= 3, 10_000, `three events (${seen.join("; ")})`);
      assert.match(seen[0], /^put \/t\/w=1 @\d+$/);
      assert.deepEqual(seen.slice(1), ["prefix /t/p/x=2", "delete /t/w"]);
      await one.cancel();
      await many.cancel();
      await cluster.etcdctl(["put", "/t/w", "after cancel"]);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(seen.length, 3, `an event after cancel: ${seen.join("; ")}`);
    });

    it("says permission-denied for a key outside the role, and for a certificate whose CN has no role", async () => {
      await assert.rejects(client().get("/computers/other/desired"), refusal("permission-denied"));
      await assert.rejects(client().put("/other", "x"), refusal("permission-denied"));
      const nobody = client({ identity: cluster.nobody });
      await assert.rejects(nobody.get("/t/a"), refusal("permission-denied"));
      await assert.rejects(nobody.watch("/t/a", { onPut: () => undefined }), refusal("permission-denied"));
    });

    it("keeps watching after etcd refused one watch: the next watches of the same client are made and hear their keys", async () => {
      // A site's timestamp loop watched a decommissioned server's key (refused) and then never got
      // another watch made on that client: etcd3 1.1.2 left the refused one at the head of its queue.
      const c = client();
      await assert.rejects(
        c.watch("/computers/other/desired", { onPut: () => undefined }),
        refusal("permission-denied"),
      );
      const seen: string[] = [];
      const after = await c.watch("/t/after-refusal", { onPut: (k, v) => seen.push(`${k}=${v}`) });
      await assert.rejects(
        c.watch("/other/", { onPut: () => undefined }, { prefix: true }),
        refusal("permission-denied"),
      );
      const prefix = await c.watch(
        "/t/after/",
        { onPut: (k, v) => seen.push(`${k}=${v}`) },
        { prefix: true },
      );
      await cluster.etcdctl(["put", "/t/after-refusal", "1"]);
      await cluster.etcdctl(["put", "/t/after/x", "2"]);
      await until(() => seen.length >= 2, 10_000, `both events (${seen.join("; ")})`);
      assert.deepEqual(seen.sort(), ["/t/after-refusal=1", "/t/after/x=2"]);
      await after.cancel();
      await prefix.cancel();
    });

    it("says unreachable when etcd refuses the certificate's CA during the handshake", async () => {
      const c = client({ identity: cluster.stranger, timeoutMs: 2000 });
      await assert.rejects(c.get("/t/a"), refusal("unreachable"));
    });

    it("says timeout within its deadline when no member answers (TCP accepted, nothing said)", async () => {
      // holds each connection open without a word; destroyed at the end, or they keep mocha alive
      const held: net.Socket[] = [];
      const silent = net.createServer((s) => void held.push(s));
      await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
      const port = (silent.address() as net.AddressInfo).port;
      try {
        const c = client({ endpoints: [`https://localhost:${port}`], timeoutMs: 800 });
        const started = Date.now();
        await assert.rejects(c.get("/t/a"), refusal("timeout"));
        const took = Date.now() - started;
        assert.ok(took >= 700 && took < 3000, `rejected after ${took} ms, deadline 800 ms`);
      } finally {
        silent.close();
        for (const s of held) s.destroy();
      }
    });

    it("refuses use after close with kind closed", async () => {
      const c = client();
      c.close();
      await assert.rejects(c.get("/t/a"), refusal("closed"));
    });

    it("fails over when its member stops: calls go to the next member, the watch resumes without losing events", async () => {
      const c = client();
      await c.put("/t/f", "before");
      const events: string[] = [];
      let disconnected = 0;
      let connected = 0;
      await c.watch("/t/f", {
        onPut: (_k, v) => events.push(v),
        onDisconnected: () => disconnected++,
        onConnected: () => connected++,
      });
      await cluster.stopMember(0); // the first endpoint: the one in use (inOrder)
      await cluster.etcdctl(["put", "/t/f", "while away"]);
      assert.equal(await c.get("/t/f"), "while away");
      await c.put("/t/f", "after");
      await until(
        () => events.includes("after"),
        15_000,
        `the watch to resume (events: ${events.join(", ")})`,
      );
      assert.deepEqual(events, ["while away", "after"]);
      if (inOrder)
        assert.ok(
          disconnected >= 1 && connected >= 1,
          `disconnected ${disconnected}, connected ${connected}`,
        );
    });
  });
