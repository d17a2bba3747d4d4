/**
 * The platform's own services heal themselves, and `lab status` tells the truth meanwhile. Each site
 * service and each etcd member runs under its own supervisord, as its own unprivileged user; a killed
 * one comes back by itself within a bound, with no zombie left. While it is down, `lab status` says
 * so (and exits 1); a server whose PID 1 was killed shows as down.
 *
 * To read the outage while it lasts, a test pauses the supervisor (SIGSTOP) before killing its
 * program and resumes it (SIGCONT) once `lab status` has shown the outage: a restarted etcd member
 * answers again in well under a second, faster than one status read. Nothing else is done to bring
 * anything back: the supervisor restarts the program on its own.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { memberPid, readClusterState, type ClusterState } from "../../../lab/controlplane";
import { memberProgram } from "../../../lab/controlplane/members";
import { controlPlaneDir } from "../../../lab/orchestrate/controlplane";
import { labDown } from "../../../lab/orchestrate/down";
import { currentLabId } from "../../../lab/orchestrate/lab-id";
import { REPO_ROOT, siteUid, type LabLayout } from "../../../lab/orchestrate/layout";
import { sitePid, siteSupervisor } from "../../../lab/orchestrate/sites";
import { labStatus, type LabStatus } from "../../../lab/orchestrate/status";
import { labUp } from "../../../lab/orchestrate/up";
import { serverStatus } from "../../../lab/server";
import { programState, startProgram, supervisorPid, uidOf } from "../../../lab/supervise";

/** How long a killed service may take to serve again (the site starts node with its TS loader). */
const BACK_WITHIN_MS = 60_000;

const procStatus = (pid: number) => readFileSync(`/proc/${pid}/status`, "utf8");
const field = (pid: number, name: string) =>
  new RegExp(`^${name}:\\s+(\\S+)`, "m").exec(procStatus(pid))?.[1];
const parentOf = (pid: number) => Number(field(pid, "PPid"));

/** Zombie children of a process: what a parent that does not reap leaves behind. */
function zombieChildren(parent: number): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        return parentOf(pid) === parent && field(pid, "State") === "Z";
      } catch {
        return false;
      }
    });
}

async function poll<T>(what: string, timeoutMs: number, read: () => Promise<T>, ok: (v: T) => boolean) {
  const start = Date.now();
  const seen: T[] = [];
  for (;;) {
    const v = await read();
    seen.push(v);
    if (ok(v)) return { value: v, seen, ms: Date.now() - start };
    if (Date.now() - start > timeoutMs)
      throw new Error(`${what}: not within ${timeoutMs / 1000} s; last: ${JSON.stringify(v).slice(0, 1500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `zeroroot lab status` as a user runs it: exit code and output. */
function cli(...args: string[]) {
  const r = spawnSync(join(REPO_ROOT, "bin", "zeroroot"), ["lab", "status", ...args], {
    encoding: "utf8",
    env: process.env,
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Problems of what this file heals and reads: control plane, sites, servers (datastores are others'). */
const platformProblems = (s: LabStatus) => s.problems.filter((p) => /^(control plane|site |server )/.test(p));

const controlPlane = (s: LabStatus) => {
  assert.ok(!("error" in s.controlPlane), JSON.stringify(s.controlPlane));
  return s.controlPlane as Exclude<LabStatus["controlPlane"], { error: string }>;
};

describe("self-healing of the lab's own services, and an honest lab status (lab)", function () {
  this.timeout(30 * 60_000);
  let lab: LabLayout;
  let cluster: ClusterState;

  before(async () => {
    assert.notEqual(currentLabId(), "", "the lab tier never runs as the user's lab");
    const said: string[] = [];
    try {
      lab = await labUp({ serversPerDc: 1, log: (m) => void said.push(m) });
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlab up said (last 30 lines):\n${said.slice(-30).join("\n")}`);
    }
    cluster = readClusterState(controlPlaneDir(lab));
  });
  after(async () => {
    if (!lab) return;
    await labDown({ log: () => undefined });
    // `lab down` stops everything cleanly: no supervisor, site or member of this lab is left.
    const left = spawnSync("pgrep", ["-af", lab.dir], { encoding: "utf8" }).stdout.trim();
    assert.equal(left, "", `processes of ${lab.dir} left after lab down:\n${left}`);
  });

  it("runs each site and each etcd member under its own supervisord, unprivileged, and says all is up", async () => {
    lab.plan.dataCenters.forEach((d, i) => {
      const sup = supervisorPid(siteSupervisor(lab, d.id).dir);
      assert.ok(sup, `${d.id}: the site's supervisord runs`);
      const site = sitePid(lab, d.id);
      assert.ok(site, `${d.id}: the site runs`);
      assert.equal(parentOf(site), sup, `${d.id}: the site is the supervisord's own child`);
      for (const pid of [sup, site]) {
        assert.equal(uidOf(pid), siteUid(i + 1), `${d.id}: pid ${pid} runs as the site's uid`);
        assert.equal(field(pid, "CapEff"), "0000000000000000", `${d.id}: pid ${pid} has no capabilities`);
        assert.equal(field(pid, "NoNewPrivs"), "1");
      }
    });
    for (const m of cluster.members) {
      const sup = supervisorPid(memberProgram(m).dir);
      const pid = memberPid(m);
      assert.ok(sup && pid, `${m.dc}: supervisord and etcd run`);
      assert.equal(parentOf(pid), sup);
      assert.equal(uidOf(sup), m.uid);
      assert.equal(uidOf(pid), m.uid);
      assert.equal(field(sup, "CapEff"), "0000000000000000");
    }
    const st = await labStatus(lab);
    assert.deepEqual(platformProblems(st), []);
    assert.equal(st.up, st.problems.length === 0);
    const cp = controlPlane(st);
    assert.equal(cp.health, "healthy");
    assert.ok(cp.leader && cluster.members.some((m) => m.dc === cp.leader), `a leader: ${cp.leader}`);
    assert.deepEqual(cp.listed, ["dc1", "dc2", "dc3"], "the members etcd itself lists");
    assert.equal(cp.members.filter((m) => m.isLeader).length, 1);
    for (const s of st.servers) assert.ok((s.agentReportAgeSeconds ?? Infinity) <= 60, `${s.id} reported`);
    const run = cli();
    // 0 when nothing at all is down; a datastore finding (not this file's) would make it 1, and say so.
    assert.equal(run.code, st.up ? 0 : 1, run.out + run.err);
    assert.match(run.out, /CONTROL PLANE: HEALTHY, leader dc\d/);
    assert.match(run.out, st.up ? /everything is up/ : /problem\(s\):/);
  });

  it("brings a killed site service back by itself; lab status showed it down meanwhile", async () => {
    const dc = "dc2";
    const sup = siteSupervisor(lab, dc);
    const supervisord = supervisorPid(sup.dir)!;
    const before = sitePid(lab, dc)!;
    process.kill(supervisord, "SIGSTOP");
    try {
      process.kill(before, "SIGKILL");
      const down = await poll(
        "lab status shows site dc2 down",
        30_000,
        () => labStatus(lab),
        (s) => s.sites.some((x) => x.dataCenter === dc && !x.answers && !x.running),
      );
      assert.equal(down.value.up, false);
      assert.ok(
        down.value.problems.some((p) => p.startsWith(`site ${dc}: not running`)),
        down.value.problems.join("\n"),
      );
    } finally {
      process.kill(supervisord, "SIGCONT");
    }
    const back = await poll(
      "site dc2 answers again",
      BACK_WITHIN_MS,
      () => labStatus(lab),
      (s) => s.sites.every((x) => x.answers),
    );
    const after = sitePid(lab, dc)!;
    assert.notEqual(after, before, "a new process serves");
    assert.equal(parentOf(after), supervisord, "restarted by the same supervisor");
    assert.deepEqual(zombieChildren(supervisord), [], "the dead site was reaped");
    // The site answers before its supervisor calls it RUNNING: supervisord waits out the program's
    // start grace period (startsecs, 10 s for a site) first. It must get there without another restart.
    await poll(
      "the site's supervisor calls it RUNNING",
      20_000,
      () => programState(sup.dir, sup.name),
      (p) => p.state === "RUNNING",
    );
    assert.equal(sitePid(lab, dc), after, "the same process, not restarted again");
    assert.deepEqual(platformProblems(back.value), []);
  });

  it("brings a killed etcd member back by itself; lab status showed the control plane degraded", async () => {
    const m = cluster.members[1];
    const supervisord = supervisorPid(memberProgram(m).dir)!;
    const before = memberPid(m)!;
    process.kill(supervisord, "SIGSTOP");
    try {
      process.kill(before, "SIGKILL");
      const { value } = await poll(
        "lab status shows the member down",
        30_000,
        () => labStatus(lab),
        // The killed member may have led: until the other two elect a leader, no member is healthy
        // and the status honestly says down. Wait for the election, then judge.
        (s) => controlPlane(s).members.every((x) => (x.dc === m.dc ? !x.running && !x.healthy : x.healthy)),
      );
      const cp = controlPlane(value);
      assert.equal(cp.health, "degraded", "two of three members keep quorum");
      assert.ok(cp.leader, "the two others still have a leader");
      assert.equal(value.up, false);
      assert.match(value.problems.join("\n"), new RegExp(`control plane degraded: .*${m.dc}`));
    } finally {
      process.kill(supervisord, "SIGCONT");
    }
    const back = await poll(
      "the member is healthy again",
      BACK_WITHIN_MS,
      () => labStatus(lab),
      (s) => controlPlane(s).health === "healthy",
    );
    assert.notEqual(memberPid(m), before);
    assert.equal(parentOf(memberPid(m)!), supervisord);
    assert.deepEqual(zombieChildren(supervisord), []);
    assert.ok(back.ms < BACK_WITHIN_MS);
  });

  it("brings all killed etcd members back by themselves; lab status showed the control plane down (exit 1)", async () => {
    // Start from a whole control plane, whatever the test before left (it may have failed mid-way).
    await poll(
      "the control plane is healthy",
      BACK_WITHIN_MS,
      () => labStatus(lab),
      (s) => controlPlane(s).members.every((x) => x.healthy),
    );
    const sups = cluster.members.map((m) => supervisorPid(memberProgram(m).dir)!);
    const before = cluster.members.map((m) => memberPid(m)!);
    sups.forEach((p) => process.kill(p, "SIGSTOP"));
    try {
      before.forEach((p) => process.kill(p, "SIGKILL"));
      const { value } = await poll(
        "lab status shows the control plane down",
        30_000,
        () => labStatus(lab),
        (s) => controlPlane(s).members.every((x) => !x.running),
      );
      const cp = controlPlane(value);
      assert.equal(cp.health, "down");
      assert.equal(cp.leader, undefined, "no leader without members");
      assert.match(value.problems.join("\n"), /control plane DOWN \(no quorum\)/);
      // The user's view of the same moment: JSON, and the exit code.
      const run = cli("--json");
      assert.equal(run.code, 1, run.err);
      const json = JSON.parse(run.out) as LabStatus;
      assert.equal(json.up, false);
      assert.equal(controlPlane(json).health, "down");
    } finally {
      sups.forEach((p) => process.kill(p, "SIGCONT"));
    }
    await poll(
      "the control plane is healthy again",
      BACK_WITHIN_MS,
      () => labStatus(lab),
      (s) => controlPlane(s).health === "healthy" && !!controlPlane(s).leader,
    );
    cluster.members.forEach((m, i) => assert.notEqual(memberPid(m), before[i]));
  });

  it("reports a site that keeps dying as a crash loop its supervisor gave up on", async () => {
    const dc = "dc3";
    const sup = siteSupervisor(lab, dc);
    // Killed as soon as each start appears: every start fails quickly, until the supervisor stops trying.
    const { value } = await poll(
      "the supervisor gives up",
      120_000,
      async () => {
        const pid = sitePid(lab, dc);
        if (pid) process.kill(pid, "SIGKILL");
        return (await programState(sup.dir, sup.name)).state;
      },
      (state) => state === "FATAL",
    );
    assert.equal(value, "FATAL");
    const st = await labStatus(lab);
    const site = st.sites.find((s) => s.dataCenter === dc)!;
    assert.equal(site.supervisor, "FATAL");
    assert.equal(site.answers, false);
    assert.match(st.problems.join("\n"), /site dc3: not running, .*supervisor gave up \(crash loop\)/);
    // What `lab up` does with a site its supervisor gave up on: start it again.
    await startProgram(sup.dir, sup.name);
    await poll(
      "site dc3 answers again",
      BACK_WITHIN_MS,
      () => labStatus(lab),
      (s) => s.sites.every((x) => x.answers),
    );
  });

  it("shows a server whose PID 1 was killed as down (exit 1), though its BMC says power on", async () => {
    const id = "dc1-s1";
    const pid = serverStatus(id, { labDir: lab.dir }).pid!;
    process.kill(pid, "SIGKILL");
    const { value } = await poll(
      "lab status shows dc1-s1 down",
      30_000,
      () => labStatus(lab),
      (s) => s.servers.some((x) => x.id === id && x.state === "down"),
    );
    const s = value.servers.find((x) => x.id === id)!;
    assert.equal(s.running, false);
    assert.equal(s.power, "on", "its BMC still believes it is on");
    assert.ok(
      s.problems.includes("its BMC reports power on but its PID 1 is not running"),
      s.problems.join("; "),
    );
    const run = cli();
    assert.equal(run.code, 1, run.err);
    assert.match(run.out, new RegExp(`${id}\\s+DOWN\\s+on\\s+NOT RUNNING`));
    assert.match(run.out, /server dc1-s1: its BMC reports power on but its PID 1 is not running/);
  });
});
