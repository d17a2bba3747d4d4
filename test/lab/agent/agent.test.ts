/**
 * The node agent against real etcd (3 members, mutual TLS) and real supervisords run as partition
 * users, the agent itself bundled and run as uid 2000 with no capabilities. Needs root (namespaces,
 * setpriv), etcd and supervisor. The tests run in order on one computer.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { keys } from "../../../lib/controlplane";
import { partitionName, partitionPaths } from "../../../lib/hardening";
import { signRelease } from "../../../lib/release";
import { startAllMembers, stopMember } from "../../../lab/controlplane";
import {
  AgentLab,
  canRunLab,
  COMPUTER,
  DCS,
  partitionPrograms,
  sleep,
  waitFor,
  type ProgramProcess,
  type ReleaseRef,
} from "./harness";
import type { ReportedAlert } from "./control-plane-fixture";
import { partitionSupervisords } from "./helpers";
import { enteredPid, pidInNamespace } from "./node-namespaces";

const serving = (lab: AgentLab, i: number): ProgramProcess | undefined =>
  partitionPrograms(lab, i).find((p) => p.cmdline.includes("http.server"));

(canRunLab() ? describe : describe.skip)("node agent on real etcd and supervisord (lab)", function () {
  this.timeout(180_000);
  const lab = new AgentLab({ partitions: 4 });
  let web: ReleaseRef;
  let cache: ReleaseRef;
  let echo: ReleaseRef;
  let current: Parameters<AgentLab["putDesired"]>[0];

  const alertFor = (
    pred: (a: {
      kind: string;
      instance?: string;
      detail: string;
      evidence?: Record<string, unknown>;
    }) => boolean,
    ms: number,
    what: string,
  ) => waitFor(async () => (await lab.alerts()).find(pred), ms, what, 250);

  before(async () => {
    await lab.start();
    web = await lab.publishRelease(lab.makeRelease("web", "1.0.0", 18080));
    cache = await lab.publishRelease(lab.makeRelease("cache", "1.0.0", 18081, { holdsData: true }));
    echo = await lab.publishRelease(lab.makeRelease("echo", "1.0.0", 18082));
  });

  after(async () => {
    if (process.env.ZR_KEEP_LAB) return;
    await lab.close();
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && fs.existsSync(lab.agentLog))
      console.log(fs.readFileSync(lab.agentLog, "utf8").split("\n").slice(-40).join("\n"));
  });

  it("refuses to start as root", () => {
    const r = spawnSync(
      process.execPath,
      [path.join(lab.root, "bundle", "agent.js"), "--config-dir", lab.configDir],
      {
        encoding: "utf8",
      },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /refusing to run as root/);
  });

  it("deploys two releases and runs each program as its own partition user under that partition's supervisord", async () => {
    current = [lab.instance("web", web, 0), lab.instance("cache", cache, 1)];
    await lab.putDesired(current);
    lab.startAgent();
    const [p0, p1] = await waitFor(
      () => {
        const a = serving(lab, 0);
        const b = serving(lab, 1);
        return a && b ? [a, b] : undefined;
      },
      30_000,
      "both programs running",
    );
    assert.equal(p0.uid, 2100);
    assert.equal(p1.uid, 2101);
    for (const i of [0, 1]) {
      const sups = partitionSupervisords(lab, i);
      assert.equal(sups.length, 1, `one supervisord of partition ${i}`);
      assert.match(
        fs.readFileSync(`/proc/${sups[0]}/status`, "utf8"),
        new RegExp(`^Uid:\\s+${2100 + i}\\s+${2100 + i}`, "m"),
      );
    }
    // the agent: uid 2000 through setpriv, no capabilities (nsenter's child, setpriv exec'd into node)
    const agentPid = await waitFor(() => lab.agentPid(), 10_000, "the agent's pid");
    const status = fs.readFileSync(`/proc/${agentPid}/status`, "utf8");
    assert.match(status, /^Uid:\s+2000\s+2000/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    const st = await waitFor(
      async () => {
        const s = await lab.status();
        return s?.instances.length === 2 &&
          s.instances.every((i) => i.programs.some((p) => p.state === "RUNNING"))
          ? s
          : undefined;
      },
      20_000,
      "a status report with both instances running",
    );
    assert.deepEqual(st.instances.map((i) => i.name).sort(), ["cache", "web"]);
    const conf = fs.readFileSync(
      path.join(partitionPaths("zr-p000", lab.partitionsRoot).confD, "zeroroot-instance.conf"),
      "utf8",
    );
    assert.doesNotMatch(conf, /^user=/m);
    // the usage sample is written on its own period: a sample taken between the program's start and
    // its listen shows no port yet, so wait for one taken since (bounded), then judge it whole
    type Usage = {
      partitions: Record<string, { instance: string; listeningPorts: { port: number }[]; processes: number }>;
    };
    const readUsage = async () =>
      JSON.parse((await lab.etcdctl(["get", keys.usage(COMPUTER), "--print-value-only"])).trim()) as Usage;
    const usage = await waitFor(
      async () => {
        const u = await readUsage();
        return (u.partitions["zr-p000"]?.listeningPorts.length ?? 0) > 0 ? u : undefined;
      },
      15_000,
      "a usage sample with web's port",
    ).catch(readUsage);
    assert.deepEqual(
      usage.partitions["zr-p000"].listeningPorts.map((p) => p.port),
      [18080],
    );
  });

  // Mocha runs a suite's own tests before its child suites: the refusals stay flat to keep the order.
  const refusedDoc = async (reason: string, put: () => Promise<unknown>) => {
    const before0 = serving(lab, 0)?.pid;
    await put();
    const a = await alertFor(
      (x) => x.kind === "desired-state-refused" && x.evidence?.reason === reason,
      15_000,
      `a ${reason} alert`,
    );
    assert.match(a.detail, /keeping the last verified state/);
    assert.equal(serving(lab, 0)?.pid, before0, "web was not restarted");
  };

  it("refuses an unsigned desired state", () =>
    refusedDoc("unsigned", () =>
      lab.putDesired(current, { transform: (s) => ({ document: (s as { document: unknown }).document }) }),
    ));

  it("refuses a tampered desired state", () =>
    refusedDoc("bad-signature", () =>
      lab.putDesired(current, {
        transform: (s) => {
          const d = s as { document: { instances: { parameters: Record<string, string> }[] } };
          d.document.instances[0].parameters = { injected: "1" };
          return d;
        },
      }),
    ));

  it("refuses desired state written for another computer", () =>
    refusedDoc("wrong-computer", () => lab.putDesired(current, { computerId: "dc1-s2" })));

  it("refuses desired state signed by a signer trust.json does not authorise", () =>
    refusedDoc("unauthorised-signer", () => lab.putDesired(current, { signer: lab.mallory })));

  it("refuses a rolled-back desired state", async () => {
    const v = await lab.putDesired(current, { version: 20 });
    await waitFor(async () => (await lab.status())?.desired?.version === v, 15_000, `version ${v} applied`);
    await refusedDoc("rollback", () => lab.putDesired(current, { version: 19 }));
  });

  it("refuses a tampered release and keeps the instance on its current release", async () => {
    const m = lab.makeRelease("web", "1.1.0", 18080);
    const signed = signRelease(m, lab.releaseSigner);
    const tampered = {
      ...signed,
      manifest: { ...m, programs: [{ ...m.programs[0], command: "/bin/sh -c evil" }] },
    };
    const before0 = serving(lab, 0)?.pid;
    const rel = await lab.publishRelease(tampered.manifest, lab.releaseSigner, tampered);
    await lab.putDesired([lab.instance("web", rel, 0), current[1]]);
    const a = await alertFor(
      (x) => x.kind === "release-refused" && x.evidence?.release === "web@1.1.0",
      15_000,
      "release-refused",
    );
    assert.equal(a.evidence?.reason, "bad-signature");
    await sleep(1000);
    assert.equal(serving(lab, 0)?.pid, before0, "web still runs 1.0.0, not restarted");
  });

  it("refuses a release signed by an unauthorised signer and runs nothing of it", async () => {
    const rel = await lab.publishRelease(lab.makeRelease("rogue", "1.0.0", 18090), lab.mallory);
    await lab.putDesired([...current, lab.instance("rogue", rel, 2)]);
    const a = await alertFor(
      (x) => x.kind === "release-refused" && x.evidence?.release === "rogue@1.0.0",
      15_000,
      "release-refused",
    );
    assert.equal(a.evidence?.reason, "unauthorised-signer");
    await sleep(1000);
    assert.deepEqual(partitionPrograms(lab, 2), []);
    await lab.putDesired(current);
  });

  it("does not let a computer's certificate read another computer's keys or write releases", async () => {
    assert.equal((await lab.probe.get("s1", keys.desired("dc1-s2"))).kind, "permission-denied");
    assert.equal((await lab.probe.get("s1", keys.release("web", "1.0.0"))).ok, true);
    assert.equal((await lab.probe.put("s1", keys.release("web", "9.0.0"), "{}")).kind, "permission-denied");
    assert.equal((await lab.probe.put("s1", keys.desired(COMPUTER), "{}")).kind, "permission-denied");
  });

  it("keeps instances running through a full control-plane outage (0 restarts) and reconciles a change made while away", async () => {
    const snap = () =>
      [0, 1].map((i) => serving(lab, i)).map((p) => (p ? `${p.pid}:${p.startTicks}` : "none"));
    const sups = () =>
      [0, 1].map((i) =>
        fs.readFileSync(partitionPaths(partitionName(i), lab.partitionsRoot).pidFile, "utf8").trim(),
      );
    const before = snap();
    const supsBefore = sups();
    const agentPid = lab.agentPid();
    for (const dc of DCS) await stopMember(dc, lab.stateDir);
    const outageMs = 10_000;
    for (let t = 0; t < outageMs; t += 1000) {
      await sleep(1000);
      assert.deepEqual(snap(), before, `programs unchanged ${t / 1000 + 1} s into the outage`);
    }
    assert.match(fs.readFileSync(lab.agentLog, "utf8"), /control plane unreachable/);
    // the agent stays away (its network is cut) while the members come back and the change is made
    execFileSync("ip", ["-n", lab.namespace, "link", "set", "eth0", "down"]);
    try {
      await startAllMembers(lab.stateDir);
      current = [...current, lab.instance("late", echo, 2)];
      await lab.putDesired(current);
      await sleep(3000);
      assert.equal(serving(lab, 2), undefined, "not applied while away");
      assert.deepEqual(snap(), before);
    } finally {
      execFileSync("ip", ["-n", lab.namespace, "link", "set", "eth0", "up"]);
    }
    const t0 = Date.now();
    const late = await waitFor(() => serving(lab, 2), 60_000, "the change made while away applied");
    assert.equal(late.uid, 2102);
    console.log(`      reconciled ${((Date.now() - t0) / 1000).toFixed(1)} s after the network came back`);
    assert.deepEqual(snap(), before, "0 restarts of the running instances");
    assert.deepEqual(sups(), supsBefore, "0 restarts of the partitions' supervisords");
    assert.equal(lab.agentPid(), agentPid);
    assert.equal(lab.agent?.exitCode, null, "the agent itself kept running");
  });

  it("refuses to destroy a data-holding instance inside its minimum persistence time, then destroys it after", async () => {
    const store = await lab.publishRelease(lab.makeRelease("store", "1.0.0", 18083, { holdsData: true }));
    const db = lab.instance("db", store, 3, { minimumPersistenceSeconds: 8 });
    await lab.putDesired([...current, db]);
    const prog = await waitFor(() => serving(lab, 3), 30_000, "db running");
    const inst = partitionPaths("zr-p003", lab.partitionsRoot).instanceDir;
    fs.writeFileSync(path.join(inst, "data-by-root-for-test"), "x");
    const removedAt = Date.now();
    await lab.putDesired(current);
    const refused = await alertFor(
      (a) => a.kind === "persistence-refused" && a.instance === "db",
      15_000,
      "persistence-refused",
    );
    assert.match(refused.detail, /minimum persistence time runs until/);
    assert.equal(serving(lab, 3)?.pid, prog.pid, "still running inside the window");
    await waitFor(() => serving(lab, 3) === undefined, 30_000, "db destroyed after its window");
    const createdAt = Date.parse(String(refused.evidence?.createdAt));
    assert.ok(Date.now() >= createdAt + 8000, "not before createdAt + minimumPersistenceSeconds");
    await alertFor(
      (a) => a.kind === "instance-destroyed" && a.instance === "db",
      10_000,
      "instance-destroyed",
    );
    console.log(
      `      destroyed ${((Date.now() - removedAt) / 1000).toFixed(1)} s after the document removed it (window 8 s)`,
    );
  });

  it("flags a CPU-burning process injected into a partition within a bounded time", async () => {
    // only alerts raised after the burner started, about the burner itself: an earlier cpu-high or
    // another python3 of the partition must not pass this test
    const earlier = new Set((await lab.alerts()).map((a) => JSON.stringify(a)));
    // On a loaded 2-core machine (CI, the user's lab beside) a plain busy loop got as little as 0.3
    // cores, under the detector's 0.5-core floor; this test is about detection. A nice value alone
    // does not help: with the kernel's autogroup scheduling (sched_autogroup_enabled=1 here) nice
    // only ranks processes within one session, and sessions share the CPU equally. So the burner
    // gets a session of its own (setsid), whose autogroup is given nice -19 once it runs.
    const [command, ...args] = [
      ...lab.onNode(),
      ...["setsid", "nice", "-n", "-19", "setpriv", "--reuid=2100", "--regid=2100", "--clear-groups"],
      ...["/usr/bin/python3", "-c", "while True: pass"],
    ];
    const burner = spawn(command, args, { stdio: "ignore" });
    const t0 = Date.now();
    const fresh = (pred: (a: ReportedAlert) => boolean, ms: number, what: string) =>
      alertFor((a) => !earlier.has(JSON.stringify(a)) && pred(a), ms, what);
    try {
      // the burner as the agent sees it: its pid in the computer's PID namespace
      const hostPid = await waitFor(
        () => {
          const pid = enteredPid(burner);
          return pid && fs.readlinkSync(`/proc/${pid}/exe`).includes("python3") ? pid : undefined;
        },
        10_000,
        "the burner's exec",
      );
      const pid = pidInNamespace(hostPid);
      if (fs.existsSync(`/proc/${hostPid}/autogroup`)) fs.writeFileSync(`/proc/${hostPid}/autogroup`, "-19");
      const un = await fresh(
        (a) => a.kind === "anomaly-unsupervised-process" && a.instance === "web" && a.evidence?.pid === pid,
        15_000,
        "unsupervised-process",
      );
      const tUn = (Date.now() - t0) / 1000;
      const cpu = await fresh(
        (a) => a.kind === "anomaly-cpu-high" && a.instance === "web",
        30_000,
        "cpu-high",
      );
      const tCpu = (Date.now() - t0) / 1000;
      console.log(
        `      unsupervised process flagged after ${tUn.toFixed(1)} s, CPU after ${tCpu.toFixed(1)} s (${JSON.stringify(cpu.evidence)})`,
      );
      assert.ok((cpu.evidence?.cpuCores as number) > 0.5, JSON.stringify(cpu.evidence));
      assert.equal(un.evidence?.partition, "zr-p000");
      assert.equal(un.evidence?.comm, "python3");
    } finally {
      const pid = enteredPid(burner);
      if (pid) process.kill(pid, "SIGKILL");
      else burner.kill("SIGKILL");
    }
  });
});
