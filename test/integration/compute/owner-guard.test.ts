/**
 * The Dask release's processes on this host (real Debian Dask 2022.12, real TLS, certificates of a
 * real hierarchy): alice's cluster admits alice's certificate and its own processes, and refuses,
 * at the TLS listener before any Dask message, every other valid certificate of the platform —
 * another user of the same data center, a user of the same name issued by another data center, a
 * service of another cluster — as well as a plain tcp:// client.
 */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import {
  cleanup,
  makeHierarchy,
  runJob,
  serviceInstance,
  startProcess,
  stopAll,
  userKit,
  waitForPort,
  DOMAIN,
  type Hierarchy,
  waitForLog,
  type RunningProcess,
} from "../../../lab/releases/dask/harness";

const PORT = 18786;
const CLUSTER = {
  owner: "dc1/user/alice",
  cluster: "dask-dc1-alice-analytics",
  dataCenters: "dc1,dc2",
  schedulerPort: PORT,
};

describe("owner-only Dask cluster (lab/releases/dask on this host)", function () {
  this.timeout(240_000);
  let h: Hierarchy | undefined;
  let ps: RunningProcess[] = [];
  const scheduler = `tls://127.0.0.1:${PORT}`;

  before(async () => {
    h = makeHierarchy(["dc1", "dc2"]);
    const s = serviceInstance(h, "dc1", `${CLUSTER.cluster}-s.c1.dc1.${DOMAIN}`);
    ps.push(startProcess(s, "scheduler", PORT, CLUSTER));
    await waitForPort(PORT);
    // one worker per data center, each with its own data center's service certificate
    ps.push(
      startProcess(
        serviceInstance(h, "dc1", `${CLUSTER.cluster}-w0.c1.dc1.${DOMAIN}`),
        "worker",
        PORT + 14,
        CLUSTER,
      ),
    );
    ps.push(
      startProcess(
        serviceInstance(h, "dc2", `${CLUSTER.cluster}-w1.c1.dc2.${DOMAIN}`),
        "worker",
        PORT + 15,
        CLUSTER,
      ),
    );
    await waitForPort(PORT + 14);
    await waitForPort(PORT + 15);
  });

  after(() => {
    stopAll(ps);
    ps = [];
    cleanup(h);
  });

  it("runs alice's numpy job on both workers and scores it as the same computation done locally", () => {
    const r = runJob(scheduler, userKit(h!, "dc1", "alice"));
    assert.equal(r.status, 0, `${JSON.stringify(r.result)}\n${r.stderr}\n${ps[0].log().slice(-2000)}`);
    assert.equal(r.result.score, r.result.reference);
    assert.ok((r.result.score as number) >= 0.9, `score ${String(r.result.score)}`);
    assert.deepEqual(r.result.workers, [`tls://127.0.0.1:${PORT + 14}`, `tls://127.0.0.1:${PORT + 15}`]);
    assert.deepEqual(r.result.ranOn, r.result.workers, "every worker computed a share");
  });

  const refused: [string, (h: Hierarchy) => { cert: string; key: string; ca: string }, string][] = [
    ["bob, a valid user of the same data center", (x) => userKit(x, "dc1", "bob"), "dc1/user/bob"],
    ["an 'alice' issued by another data center", (x) => userKit(x, "dc2", "alice"), "dc2/user/alice"],
  ];
  for (const [who, kit, identity] of refused)
    it(`refuses ${who} at the TLS listener, logging the identity`, async () => {
      const r = runJob(scheduler, kit(h!), 8);
      assert.equal(r.status, 3, `${JSON.stringify(r.result)}\n${r.stderr}`);
      assert.equal(r.result.refused, true);
      const re = new RegExp(`refused tls://[0-9.:]+: ${identity} is not the owner dc1/user/alice`);
      assert.match(await waitForLog(ps[0], re), re);
    });

  it("refuses a service certificate of another cluster (a worker of bob's)", async () => {
    const dir = serviceInstance(h!, "dc1", `dask-dc1-bob-x-w0.c1.dc1.${DOMAIN}`);
    const kit = { cert: `${dir}/tls/both.pem`, key: `${dir}/tls/key.pem`, ca: `${dir}/tls/root.pem` };
    // leaf + issuing CA, and the root, as the start program lays them out
    writeFileSync(kit.cert, readFileSync(`${dir}/tls/cert.pem`, "utf8") + h!.cas.dc1.pem);
    writeFileSync(kit.ca, h!.rootPem);
    const r = runJob(scheduler, kit, 8);
    assert.equal(r.status, 3, JSON.stringify(r.result));
    const re =
      /refused tls:\/\/[0-9.:]+: dc1\/service\/dask-dc1-bob-x-w0\.c1\.dc1\.zeroroot\.test is not the owner/;
    assert.match(await waitForLog(ps[0], re), re);
  });

  it("guards the workers' listeners too: bob is refused there, alice passes the guard", async () => {
    const worker = `tls://127.0.0.1:${PORT + 15}`;
    runJob(worker, userKit(h!, "dc1", "bob"), 5);
    const re = /refused tls:\/\/[0-9.:]+: dc1\/user\/bob is not the owner/;
    assert.match(await waitForLog(ps[2], re), re);
    // a worker is no scheduler, so alice's client fails after the guard: but nothing is refused
    runJob(worker, userKit(h!, "dc1", "alice"), 5);
    await new Promise((r) => setTimeout(r, 1000));
    assert.doesNotMatch(ps[2].log(), /refused tls:\/\/[0-9.:]+: dc1\/user\/alice/);
  });

  it("refuses a plain tcp:// client (the listener speaks TLS only)", () => {
    const r = runJob(`tcp://127.0.0.1:${PORT}`, undefined, 8);
    assert.equal(r.status, 3, JSON.stringify(r.result));
  });
});
