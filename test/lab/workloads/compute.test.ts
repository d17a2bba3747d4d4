/**
 * Alice's Dask cluster in the lab (root), after one `lab up`: in workloads/, so that it runs after
 * the storage files, which leave the lab up with two servers per data center (a compute server in
 * each); its `lab up` then only reads and converges. the scheduler on dc1's compute server and a worker in each of dc1 and dc2, each a signed
 * `dask` release instance under its own partition user with a service certificate obtained by CSR
 * through its node's agent. Alice's client kit runs a numpy job from the operator's network (through
 * the per-partition egress PID 1 loaded: the job proves the cluster's members reach each other); a
 * connection of her worker's uid outside her grants is dropped and counted; bob's valid certificate
 * is refused by the scheduler's owner-only guard at the TLS listener.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JOB } from "../../../lab/releases/dask/harness";
import { LAB_CLUSTER } from "../../../lab/releases/dask/lab";
import type { ClusterReport } from "../../../lab/releases/dask/status";
import { AGENT_USER, PARTITION_PREFIX, partitionUid } from "../../../lib/hardening";
import { mgmtNs, serverNs, SITE_PORT, type LabLayout } from "../../../lab/orchestrate/layout";
import { labStatus } from "../../../lab/orchestrate/status";
import { labUp } from "../../../lab/orchestrate/up";
import { serverPaths, serverProcesses } from "../../../lab/server";
import { issue, type ClientCert } from "../storage/postgres-fixture";

describe("a user's Dask cluster across two data centers (lab)", function () {
  this.timeout(30 * 60_000);
  let lab: LabLayout;
  let dir: string;
  let cluster: ClusterReport;
  const address = (serverId: string) =>
    lab.plan.dataCenters.flatMap((d) => d.servers).find((s) => s.id === serverId)!.dataAddress;
  const scheduler = () => cluster.processes.find((p) => p.role === "scheduler")!;

  /** dask_job.py from dc1's management namespace (the operator's network), with a user's kit. */
  const job = (cert: ClientCert, timeout = 30, s: { server: string; port: number } = scheduler()) => {
    const r = spawnSync(
      "ip",
      [
        "netns",
        "exec",
        mgmtNs("dc1"),
        "/usr/bin/python3",
        JOB,
        `tls://${address(s.server)}:${s.port}`,
      ].concat([join(lab.dir, "root.pem"), cert.chain, cert.key, "--timeout", String(timeout)]),
      { encoding: "utf8", timeout: 240_000, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
    );
    const line = (r.stdout ?? "").trim().split("\n").pop() ?? "";
    return {
      status: r.status,
      result: (line.startsWith("{") ? JSON.parse(line) : { out: r.stdout }) as Record<string, unknown>,
      stderr: r.stderr,
    };
  };
  /** The log of a cluster process, on its server's disk (supervisord's program log). */
  const logOf = (p: ClusterReport["processes"][number]) => {
    const log = join(
      serverPaths(p.server, lab.dir).disk,
      "var/lib/zeroroot",
      p.user!,
      "supervisor/log/dask.log",
    );
    return existsSync(log) ? readFileSync(log, "utf8") : "";
  };
  const schedulerLog = () => logOf(scheduler());

  before(async () => {
    // The cluster needs a compute server in dc1 and dc2: two servers per data center (an earlier
    // test file may have left the shared test lab at one).
    lab = await labUp({ serversPerDc: 2, log: (m) => process.stderr.write(`      [lab] ${m}\n`) });
    dir = mkdtempSync(join(tmpdir(), "zr-dask-clients-"));
    // lab up returns once every agent applied its desired state; the workers register within seconds
    const end = Date.now() + 180_000;
    for (;;) {
      const st = await labStatus(lab);
      if (st.compute.length === 0)
        throw new Error("the lab reports no Dask cluster: it has no compute server");
      cluster = st.compute[0];
      const problems = st.problems.filter((p) => p.startsWith("dask cluster"));
      if (problems.length === 0 && cluster.registeredWorkers === LAB_CLUSTER.workers.count) break;
      if (Date.now() > end) throw new Error(`alice's cluster is not up: ${problems.join("; ")}`);
      await new Promise((r) => setTimeout(r, 3_000));
    }
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs the scheduler in dc1 and a worker in each of dc1 and dc2, each under its own partition user", () => {
    assert.deepEqual(
      cluster.processes.map((p) => `${p.role} ${p.server.split("-")[0]}`),
      ["scheduler dc1", "worker dc1", "worker dc2"],
    );
    for (const p of cluster.processes) {
      assert.match(p.user ?? "", /^zr-p\d{3}$/, `${p.instance} runs as a partition user`);
      const procs = serverProcesses(p.server, { labDir: lab.dir }).filter((x) =>
        x.cmdline.includes("distributed.cli.dask_"),
      );
      assert.ok(
        procs.length > 0 && procs.every((x) => x.uids.every((u) => u >= 2100)),
        `${p.server}: no Dask process as root or a platform user`,
      );
    }
    const onDc1 = cluster.processes.filter((p) => p.server === scheduler().server).map((p) => p.user);
    assert.equal(new Set(onDc1).size, onDc1.length, "scheduler and worker of one server in two partitions");
  });

  it("runs alice's numpy job on the workers of both data centers, scored as the same computation done locally", () => {
    const r = job(issue(lab, dir, "alice"));
    assert.equal(r.status, 0, `${JSON.stringify(r.result)}\n${r.stderr}`);
    assert.equal(r.result.score, r.result.reference);
    assert.ok((r.result.score as number) >= 0.9, `score ${String(r.result.score)}`);
    const workers = cluster.processes
      .filter((p) => p.role === "worker")
      .map((p) => `tls://${address(p.server)}:${p.port}`);
    assert.deepEqual(r.result.ranOn, [...workers].sort(), "every worker (dc1 and dc2) computed a share");
  });

  it("drops and counts a connection of alice's dc1 worker to an address outside her grants; her cluster's members stay reachable", () => {
    const worker = cluster.processes.find((p) => p.role === "worker" && p.server.startsWith("dc1"))!;
    const remote = cluster.processes.find((p) => p.role === "worker" && p.server.startsWith("dc2"))!;
    const uid = partitionUid(Number(worker.user!.slice(PARTITION_PREFIX.length)));
    const ns = serverNs(worker.server);
    const nft = (...args: string[]) =>
      spawnSync("ip", ["netns", "exec", ns, "nft", ...args], { encoding: "utf8", timeout: 10_000 }).stdout;
    const dropped = () =>
      Number(/packets (\d+)/.exec(nft("list", "counter", "inet", `zr_egress_${uid}`, `zr-drop-${uid}`))?.[1]);
    /** A TCP connection from the worker's server as `asUid` (host python in the server's network namespace). */
    const connect = (asUid: number, host: string, port: number) => {
      const probe =
        "import socket,sys\ns=socket.socket(); s.settimeout(2)\ntry:\n s.connect((sys.argv[1],int(sys.argv[2]))); print('connected')\n" +
        "except OSError as e:\n print(type(e).__name__)";
      const argv = ["netns", "exec", ns, "setpriv", `--reuid=${asUid}`, `--regid=${asUid}`, "--clear-groups"];
      const r = spawnSync("ip", [...argv, "/usr/bin/python3", "-c", probe, host, String(port)], {
        encoding: "utf8",
        timeout: 20_000,
      });
      return r.stdout.trim() || r.stderr.trim();
    };
    // PID 1 loaded the partition's table from the signed desired egress: her scheduler and her worker in dc2
    const table = nft("list", "table", "inet", `zr_egress_${uid}`);
    for (const p of [scheduler(), remote])
      assert.match(
        table,
        new RegExp(`meta skuid ${uid} ip daddr ${address(p.server)} tcp dport ${p.port} accept`),
      );
    // dc1's site service: reachable from this server (the agent's uid gets through), not granted to alice
    const site = lab.plan.dataCenters.find((d) => d.id === "dc1")!.managementServer.dataAddress;
    assert.equal(connect(AGENT_USER.uid, site, SITE_PORT), "connected", "the site answers this server");
    const before = dropped();
    assert.equal(connect(uid, site, SITE_PORT), "TimeoutError", "alice's worker cannot open it");
    assert.ok(dropped() > before, `zr-drop-${uid} counted the drop`);
    assert.equal(connect(uid, address(scheduler().server), scheduler().port), "connected", "her scheduler");
    assert.equal(connect(uid, address(remote.server), remote.port), "connected", "her worker in dc2");
  });

  it("refuses bob's valid certificate at the scheduler's TLS listener, naming his identity", async () => {
    const r = job(issue(lab, dir, "bob", { dc: "dc2" }), 10);
    assert.equal(r.status, 3, `${JSON.stringify(r.result)}\n${r.stderr}`);
    const refused = /refused tls:\/\/[0-9.:]+: dc2\/user\/bob is not the owner dc1\/user\/alice/;
    const end = Date.now() + 10_000;
    while (!refused.test(schedulerLog()) && Date.now() < end)
      await new Promise((res) => setTimeout(res, 500));
    assert.match(schedulerLog(), refused);
  });

  it("refuses bob at the listener of the worker in dc2 too (each process runs the guard)", async () => {
    const worker = cluster.processes.find((p) => p.role === "worker" && p.server.startsWith("dc2"))!;
    job(issue(lab, dir, "bob", { dc: "dc2" }), 5, worker);
    const refused = /refused tls:\/\/[0-9.:]+: dc2\/user\/bob is not the owner dc1\/user\/alice/;
    const end = Date.now() + 10_000;
    while (!refused.test(logOf(worker)) && Date.now() < end) await new Promise((res) => setTimeout(res, 500));
    assert.match(logOf(worker), refused);
  });
});
