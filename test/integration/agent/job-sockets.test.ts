/**
 * The agent serves a worker partition's job socket as it applies the instance and closes it as it
 * destroys it (agents/node/apply.ts, job-sockets.ts): executeAction against a real supervisord run
 * as the partition's uid, a real site over mutual TLS, real unix sockets and files.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { stopProcess } from "../../helpers/stop-process";
import { executeAction } from "../../../agents/node/apply";
import type { AgentContext } from "../../../agents/node/context";
import { jobSocketPath } from "../../../agents/node/job-socket";
import { jobSocketsOf } from "../../../agents/node/job-sockets";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { partitionName, partitionPaths, partitionUid } from "../../../lib/hardening";
import { createCsr, generateKeyPair, parseCertificate } from "../../../lib/pki";
import { PARTITION_USER, RELEASE_KIND, type ReleaseManifest } from "../../../lib/release";
import { jobAgent, workerSpec } from "../../helpers/job-agent";
import { startSite, type SiteFixture } from "../../helpers/site-fixture";
import { makePartitions } from "../../lab/agent/node-fixture";

const canRun = process.getuid?.() === 0 && fs.existsSync("/usr/bin/supervisord");

/** A release of one idle program: what matters here is the agent's side of the instance. */
const MANIFEST = {
  kind: RELEASE_KIND,
  name: "dask",
  version: "2022.12.1",
  files: [],
  packages: [],
  programs: [{ name: "idle", command: "/bin/sleep 600", user: PARTITION_USER }],
  configTemplates: [],
  ports: [],
  holdsData: false,
  notAfter: "2099-01-01T00:00:00Z",
} as unknown as ReleaseManifest;

/** Partition 1 (uid 2101) and 2 (uid 2102) of a test partitions root. */
const spec = (s: InstanceSpec, index: number): InstanceSpec => ({
  ...s,
  partition: { user: partitionName(index), uid: partitionUid(index) },
});

/** One JSON line to the socket, the answer line back. */
function ask(file: string, body: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(file);
    let out = "";
    c.on("data", (d) => (out += d.toString()));
    c.on("error", reject);
    c.on("close", (hadError) => {
      if (!hadError) resolve(JSON.parse(out) as Record<string, unknown>);
    });
    c.write(`${JSON.stringify(body)}\n`);
  });
}

/** Whether a process of `uid` (its own group only) can connect to `file`: what a job of that partition can do. */
function connectsAs(uid: number, file: string): string {
  const r = spawnSync(
    "setpriv",
    [
      ...[`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "/usr/bin/python3", "-c"],
      "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1]); print('connected')\nexcept OSError as e: print(e.strerror)",
      file,
    ],
    { encoding: "utf8" },
  );
  return r.stdout.trim();
}

describe("agent: a worker's job socket follows its instance (apply opens it, destroy closes it)", function () {
  this.timeout(90_000);
  let site: SiteFixture;
  let ctx: AgentContext;
  let dir: string;
  let root: string;
  const supervisords: ChildProcess[] = [];
  const alice = spec(workerSpec("dask-alice-w0", 0, "dc1/user/alice"), 1);
  const scheduler = spec(workerSpec("dask-alice-s", 0, "dc1/user/alice", "scheduler"), 2);
  const bob = spec(workerSpec("dask-bob-w0", 0, "dc2/user/bob"), 0);
  const dirOf = (s: InstanceSpec) => partitionPaths(s.partition.user, root).instanceDir;
  const apply = (s: InstanceSpec) =>
    executeAction(ctx, {
      kind: "apply",
      spec: s,
      manifest: MANIFEST,
      manifestDigest: s.release.manifestDigest,
      isNew: !ctx.state.instances[s.name],
    });

  before(async function () {
    if (!canRun) this.skip();
    site = await startSite();
    ({ ctx, dir } = jobAgent(site));
    fs.chmodSync(dir, 0o755); // the partitions' homes are under it: their uids traverse it
    root = ctx.cfg.paths.partitionsRoot;
    makePartitions(root, 3);
    for (const i of [0, 1, 2]) {
      const p = partitionPaths(partitionName(i), root);
      supervisords.push(
        spawn(
          "setpriv",
          [
            ...[`--reuid=${partitionUid(i)}`, `--regid=${partitionUid(i)}`, "--clear-groups", "--"],
            ...[
              "/usr/bin/supervisord",
              "--nodaemon",
              "--configuration",
              `${p.supervisorDir}/supervisord.conf`,
            ],
          ],
          { stdio: "ignore", cwd: p.home, env: { PATH: "/usr/bin:/bin", HOME: p.home } },
        ),
      );
    }
    for (const i of [1, 2]) await waitForFile(partitionPaths(partitionName(i), root).socket);
    // the desired state the agent verified: what obtainJobCertificate decides on
    ctx.specs = new Map([alice, scheduler].map((s) => [s.name, s]));
  });
  after(async () => {
    if (!canRun) return;
    await jobSocketsOf(ctx).closeAll();
    await Promise.all(supervisords.map((c) => stopProcess(c, 15_000)));
    await site.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("applying alice's worker serves her partition's socket: setgid 2750 directory, socket 0660, her uid only", async () => {
    await apply(alice);
    const sock = jobSocketPath(dirOf(alice));
    const jobs = fs.statSync(path.dirname(sock));
    assert.equal(jobs.mode & 0o7777, 0o2750);
    assert.equal(jobs.gid, alice.partition.uid, "the partition's group");
    const st = fs.lstatSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(connectsAs(alice.partition.uid, sock), "connected");
    assert.equal(connectsAs(scheduler.partition.uid, sock), "Permission denied");
    assert.deepEqual(jobSocketsOf(ctx).names(), ["dask-alice-w0"]);
    assert.ok(
      fs
        .readFileSync(
          path.join(partitionPaths(alice.partition.user, root).confD, "zeroroot-instance.conf"),
          "utf8",
        )
        .includes("[program:idle]"),
      "the instance itself was applied",
    );
  });

  it("answers a CSR on that socket with alice's job certificate from the site", async () => {
    const key = generateKeyPair();
    const r = await ask(jobSocketPath(dirOf(alice)), {
      csrPem: createCsr({ commonName: "dc1.alice" }, key.privateKey),
      lifetimeSeconds: 60,
    });
    assert.equal(typeof r.certificatePem, "string", JSON.stringify(r));
    const cert = parseCertificate(r.certificatePem as string);
    assert.equal(cert.commonName, "dc1.alice");
    assert.ok(cert.notAfter.getTime() - Date.now() <= 60_000);
  });

  it("applying it again keeps the same socket (no restart of a served socket at every pass)", async () => {
    const before = fs.lstatSync(jobSocketPath(dirOf(alice))).ino;
    await apply(alice);
    assert.equal(fs.lstatSync(jobSocketPath(dirOf(alice))).ino, before);
  });

  it("serves no socket to a scheduler's partition", async () => {
    await apply(scheduler);
    assert.equal(fs.existsSync(path.join(dirOf(scheduler), "jobs")), false);
    assert.deepEqual(jobSocketsOf(ctx).names(), ["dask-alice-w0"]);
  });

  it("applies a worker whose socket cannot be served (its instance directory not setgid) and raises an alert instead", async () => {
    fs.chmodSync(dirOf(bob), 0o770);
    await apply(bob);
    const alerts = ctx.alerts.queued().filter((a) => a.kind === "job-socket");
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].instance, "dask-bob-w0");
    assert.match(alerts[0].detail, /must be a setgid directory of the instance's group/);
    assert.ok(ctx.state.instances[bob.name], "the instance itself is applied");
    assert.deepEqual(jobSocketsOf(ctx).names(), ["dask-alice-w0"]);
  });

  it("destroying a worker whose socket this agent run never served (after a restart) still removes the agent's jobs directory", async () => {
    // what a previous run left: the agent's directory, with a file the partition's wipe cannot delete
    const jobs = path.join(dirOf(bob), "jobs");
    fs.writeFileSync(path.join(jobs, "agent.sock"), "");
    const rec = ctx.state.instances[bob.name];
    assert.ok(rec);
    await executeAction(ctx, { kind: "destroy", record: rec });
    assert.deepEqual(fs.readdirSync(dirOf(bob)), [], "the instance directory is empty");
  });

  it("destroying the worker closes the socket and removes its directory, and the partition's wipe completes", async () => {
    const sock = jobSocketPath(dirOf(alice));
    const rec = ctx.state.instances[alice.name];
    assert.ok(rec, "the apply recorded the instance");
    await executeAction(ctx, { kind: "destroy", record: rec });
    assert.equal(fs.existsSync(path.dirname(sock)), false);
    assert.deepEqual(fs.readdirSync(dirOf(alice)), [], "the instance directory is empty");
    assert.deepEqual(jobSocketsOf(ctx).names(), []);
    await assert.rejects(ask(sock, { csrPem: "x" }), /ENOENT/);
  });
});

async function waitForFile(file: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (!fs.existsSync(file)) {
    if (Date.now() > end) throw new Error(`${file} did not appear`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
