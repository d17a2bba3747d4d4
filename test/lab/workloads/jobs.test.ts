/**
 * Job certificates in the lab (docs/compute.md, "Job certificates"), on the lab compute.test.ts
 * leaves (two servers per data center, alice's cluster up; read, not deployed again): tasks on alice's workers obtain job
 * certificates with the release's helper (zr_job.py) through their partition's socket, which the
 * agent serves; one task keeps running across more than three 60-second lifetimes (the profile's
 * minimum, so the test takes ~3.5 minutes instead of the issue's 30); requests from another
 * partition or for another node are refused; a task reads PostgreSQL and writes MariaDB/Galera with
 * its certificate (read back through another member), which another node's datastore refuses; a
 * canary and the job's key appear nowhere else.
 */
import { strict as assert } from "node:assert";
import { execFile, spawnSync } from "node:child_process";
import { createPrivateKey, randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DOMAIN, mgmtNs, type LabLayout } from "../../../lab/orchestrate/layout";
import { labWithCluster, type ClusterProcess, type LabCluster } from "./cluster-fixture";
import { partitionUid } from "../../../lib/hardening";
import { MIN_LIFETIME_SECONDS } from "../../../lib/pki/profiles";
import { serverPaths } from "../../../lab/server";
import { GALERA_PORTS } from "../../../lab/releases/mariadb-galera/release";
import {
  labGalera,
  mariadb,
  synced,
  until,
  type ClientResult,
  type LabGaleraMember,
} from "../storage/galera-fixture";
import { aliceAnalyticsIn, issue, type ClientCert } from "../storage/postgres-fixture";
import { controlPlaneValues, processCommandLines, secretsFoundIn } from "../secret-scan";

/** How long the renewal task runs: more than three lifetimes of MIN_LIFETIME_SECONDS. */
const RENEWAL_TASK_SECONDS = 190;

describe("job certificates for alice's tasks (lab)", function () {
  this.timeout(20 * 60_000);
  let lab: LabLayout;
  let dir: string;
  let lc: LabCluster;
  let alice: ClientCert;
  let renewal: Promise<Record<string, unknown>>;
  const address = (serverId: string) => lc.address(serverId);
  const hostnameOf = (serverId: string) =>
    (
      JSON.parse(
        readFileSync(join(serverPaths(serverId, lab.dir).disk, "etc/zeroroot/agent.json"), "utf8"),
      ) as {
        hostname: string;
      }
    ).hostname;
  const proc = (role: string, dc: string) => lc.proc(role, dc);
  const url = (p: { server: string; port: number }) => lc.url(p);

  /** Runs `mode` on `worker` from dc1's management network as alice's client (asynchronous). */
  const onWorker = (worker: ClusterProcess, mode: string, args: unknown[]) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const child = execFile(
        "ip",
        [
          ...["netns", "exec", mgmtNs("dc1"), "/usr/bin/python3", join(dir, "client.py")],
          ...[url(proc("scheduler", "dc1")), join(lab.dir, "root.pem"), alice.chain, alice.key],
          ...[url(worker), mode],
        ],
        {
          encoding: "utf8",
          timeout: (RENEWAL_TASK_SECONDS + 120) * 1000,
          env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
        },
        (err, stdout, stderr) => {
          const line = stdout.trim().split("\n").pop() ?? "";
          if (err || !line.startsWith("{"))
            reject(new Error(`${mode}: ${err?.message ?? ""}\n${stdout}\n${stderr}`));
          else resolve(JSON.parse(line) as Record<string, unknown>);
        },
      );
      child.stdin!.end(JSON.stringify(args));
    });
  const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
  const openssl = (args: string[]) => spawnSync("openssl", args, { encoding: "utf8" });

  before(async () => {
    // the lab compute.test.ts brought up and left: read, not deployed again (a few minutes saved)
    lc = await labWithCluster();
    lab = lc.lab;
    dir = mkdtempSync(join(tmpdir(), "zr-jobs-"));
    copyFileSync(join(__dirname, "job-client.py"), join(dir, "client.py"));
    alice = issue(lab, dir, "alice");
    // the long task first, on dc1's worker; the other tests use dc2's worker meanwhile
    renewal = onWorker(proc("worker", "dc1"), "renew", [RENEWAL_TASK_SECONDS, MIN_LIFETIME_SECONDS, 5]);
    renewal.catch(() => undefined);
  });
  /** Files a case copied into a server's disk. */
  const leftovers: string[] = [];
  after(() => {
    for (const f of leftovers) rmSync(f, { force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let obtained: Record<string, unknown>;
  const canary = `zr-job-canary-${randomBytes(12).toString("hex")}`;

  it("gives a task on alice's dc2 worker a job certificate of dc2's site: kind job, owner dc1.alice, bound to that node, 60 s", async () => {
    const w = proc("worker", "dc2");
    obtained = await onWorker(w, "obtain", [MIN_LIFETIME_SECONDS, canary]);
    assert.equal(
      obtained.uid,
      partitionUid(Number(w.user!.slice(-3))),
      "the task ran as the worker's partition",
    );
    const cert = file("dc2-job.pem", obtained.cert as string);
    const text = openssl(["x509", "-noout", "-text", "-in", cert]).stdout;
    const subject = openssl(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", cert]).stdout.trim();
    // O is the address the site saw the agent's request come from: the node's data address
    assert.equal(subject, `subject=CN=dc1.alice,O=${address(w.server)}`);
    assert.match(text, new RegExp(`URI:zeroroot://job\\.dc2\\.${DOMAIN.replace(/\./g, "\\.")}/dc1\\.alice`));
    assert.match(
      text,
      new RegExp(
        `DNS:${hostnameOf(w.server).replace(/\./g, "\\.")}, IP Address:${address(w.server).replace(/\./g, "\\.")}`,
      ),
    );
    assert.match(text, /TLS Web Client Authentication/);
    assert.doesNotMatch(text, /TLS Web Server Authentication/);
    const dates = openssl(["x509", "-noout", "-startdate", "-enddate", "-in", cert]).stdout;
    const [nb, na] = [...dates.matchAll(/=(.*)/g)].map((m) => Date.parse(m[1]));
    assert.equal(na - nb, (MIN_LIFETIME_SECONDS + 300) * 1000, "60 s, backdated 5 minutes");
    const ok = openssl([
      "verify",
      "-purpose",
      "sslclient",
      "-CAfile",
      file("root.pem", obtained.ca as string),
      "-untrusted",
      file("dc2-chain.pem", obtained.chain as string),
      cert,
    ]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.equal(
      openssl([
        "verify",
        "-purpose",
        "sslserver",
        "-CAfile",
        join(dir, "root.pem"),
        "-untrusted",
        join(dir, "dc2-chain.pem"),
        cert,
      ]).status === 0,
      false,
    );
  });

  it("refuses a task's request naming another node (dc1's worker's host name asked on dc2)", async () => {
    const r = await onWorker(proc("worker", "dc2"), "other_node", [hostnameOf(proc("worker", "dc1").server)]);
    assert.match(String(r.error), /the agent refused: bad-csr: .*names only its own node/);
  });

  let kept: Record<string, unknown>;

  /**
   * The `datastore-refusal` alert the storage server's agent raised for `user` from `from` (read
   * from its report in the control plane; the agent reads the datastore's log each sample).
   */
  const refusalAlert = async (engine: string, user: string, from: string, ms = 90_000) => {
    type Alert = { kind?: string; severity?: string; evidence?: Record<string, unknown> };
    for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 2000))) {
      const found = (await controlPlaneValues(lab))
        .flatMap((v) => {
          try {
            return [JSON.parse(v) as Alert];
          } catch {
            return [];
          }
        })
        .find(
          (x) =>
            x.kind === "datastore-refusal" &&
            x.evidence?.engine === engine &&
            x.evidence?.user === user &&
            x.evidence?.clientAddress === from,
        );
      if (found) return found;
      if (Date.now() > end)
        assert.fail(`no datastore-refusal alert of ${engine} for ${user} from ${from} in ${ms / 1000} s`);
    }
  };

  it("reads PostgreSQL as alice from her dc2 worker with a job certificate", async () => {
    const w = proc("worker", "dc2");
    const r = await onWorker(w, "pg", [
      aliceAnalyticsIn(lab, "dc2"),
      null,
      "SELECT current_user, current_database()",
    ]);
    assert.deepEqual(r.rows, [["alice", "analytics"]], JSON.stringify(r));
    // a certificate of its own, kept on dc2's worker for the expiry test below
    kept = await onWorker(w, "fresh", [MIN_LIFETIME_SECONDS]);
  });

  it("refuses at PostgreSQL a valid job certificate of dc1's worker taken to dc2's worker", async () => {
    const w1 = proc("worker", "dc1");
    const w2 = proc("worker", "dc2");
    const from = join(serverPaths(w1.server, lab.dir).disk, "var/lib/zeroroot", w1.user!, "instance/run/job");
    const newest = readdirSync(from)
      .filter((f) => f.endsWith(".key"))
      .sort()
      .pop()!
      .slice(0, -4);
    const inServer = `/var/lib/zeroroot/${w2.user!}/instance/run/job`;
    const to = join(serverPaths(w2.server, lab.dir).disk, inServer);
    const uid = partitionUid(Number(w2.user!.slice(-3)));
    for (const x of ["crt", "key", "ca"]) {
      copyFileSync(join(from, `${newest}.${x}`), join(to, `taken.${x}`));
      chownSync(join(to, `taken.${x}`), uid, uid);
      chmodSync(join(to, `taken.${x}`), 0o600);
    }
    const checkend = openssl(["x509", "-checkend", "15", "-noout", "-in", join(to, "taken.crt")]);
    assert.equal(checkend.status, 0, "the certificate taken is still valid for the attempts");
    const taken = { cert: `${inServer}/taken.crt`, key: `${inServer}/taken.key`, ca: `${inServer}/taken.ca` };
    const pg = await onWorker(w2, "pg", [aliceAnalyticsIn(lab, "dc2"), taken, "SELECT 1"]);
    process.stderr.write(`      taken to dc2: PostgreSQL "${String(pg.error)}"\n`);
    assert.equal(pg.rows, undefined);
    assert.match(String(pg.error), /no pg_hba\.conf entry|certificate authentication failed/);
    // and the platform hears of it: dc2's storage server's agent, from PostgreSQL's log
    const a = await refusalAlert("postgresql", "alice", address(w2.server));
    assert.equal(a.severity, "warning");
  });

  it("lets only the worker's partition reach its socket: alice's scheduler's partition on the same server is refused", () => {
    const w = proc("worker", "dc1");
    const s = proc("scheduler", "dc1");
    assert.equal(s.server, w.server);
    const sock = join(
      serverPaths(w.server, lab.dir).disk,
      "var/lib/zeroroot",
      w.user!,
      "instance/jobs/agent.sock",
    );
    const connect = (user: string) =>
      spawnSync(
        "setpriv",
        [
          ...[
            `--reuid=${partitionUid(Number(user.slice(-3)))}`,
            `--regid=${partitionUid(Number(user.slice(-3)))}`,
          ],
          ...["--clear-groups", "/usr/bin/python3", "-c"],
          "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1]); print('connected')\nexcept OSError as e: print(e.strerror)",
          sock,
        ],
        { encoding: "utf8" },
      ).stdout.trim();
    assert.equal(connect(w.user!), "connected");
    assert.equal(connect(s.user!), "Permission denied");
    // the scheduler's own instance has no socket at all
    const schedJobs = join(serverPaths(s.server, lab.dir).disk, "var/lib/zeroroot", s.user!, "instance/jobs");
    assert.equal(spawnSync("test", ["-e", schedJobs]).status, 1);
  });

  it("keeps a task running across more than three 60-second lifetimes, always holding a valid certificate; the first one, expired, is refused", async () => {
    const r = await renewal;
    const samples = r.samples as { at: number; serial: string; notAfter: number }[];
    const certs = r.certs as Record<string, string>;
    const span = samples[samples.length - 1].at - samples[0].at;
    assert.ok(span >= 3 * MIN_LIFETIME_SECONDS, `the task ran ${span} s`);
    for (const s of samples)
      assert.ok(s.at < s.notAfter, `sample at ${s.at}: certificate ${s.serial} expired at ${s.notAfter}`);
    const serials = [...new Set(samples.map((s) => s.serial))];
    assert.ok(serials.length >= 4, `${serials.length} certificates over ${span} s`);
    process.stderr.write(`      ${serials.length} certificates over ${Math.round(span)} s of one task\n`);
    const w = proc("worker", "dc1");
    for (const serial of serials) {
      const pem = certs[serial];
      assert.match(
        openssl([
          "x509",
          "-noout",
          "-subject",
          "-nameopt",
          "RFC2253",
          "-in",
          file(`r-${serial}.pem`, pem),
        ]).stdout.trim(),
        new RegExp(`^subject=CN=dc1\\.alice,O=${address(w.server).replace(/\./g, "\\.")}$`),
      );
    }
    const first = file("first.pem", certs[serials[0]]);
    const roots = r.roots as Record<string, string>;
    const expired = openssl([
      "verify",
      "-purpose",
      "sslclient",
      "-CAfile",
      file("dc1-root.pem", roots[serials[0]]),
      "-untrusted",
      first,
      first,
    ]);
    assert.notEqual(expired.status, 0);
    assert.match(expired.stdout + expired.stderr, /certificate has expired/);
  });

  it("refuses at PostgreSQL a job certificate once expired (kept on dc2's worker since the first read)", async () => {
    const w = proc("worker", "dc2");
    const creds = { cert: kept.cert, key: kept.key, ca: kept.ca };
    const expired = openssl([
      "x509",
      "-checkend",
      "0",
      "-noout",
      "-in",
      join(serverPaths(w.server, lab.dir).disk, kept.cert as string),
    ]);
    assert.notEqual(expired.status, 0, "the kept certificate has expired");
    const pg = await onWorker(w, "pg", [aliceAnalyticsIn(lab, "dc2"), creds, "SELECT 1"]);
    process.stderr.write(`      expired: PostgreSQL "${String(pg.error)}"\n`);
    assert.equal(pg.rows, undefined);
    assert.match(String(pg.error), /certificate expired/);
  });

  // MariaDB/Galera: alice's readwrite grant on shop gives her workers egress to their data center's
  // member (its SQL port) and the members one job account per worker node (after the renewal task:
  // a worker runs one task at a time, and dc1's was busy until then)
  /** The Galera member of `dc` as a task connects to it: by address, as the node's job account. */
  const galeraTarget = (m: LabGaleraMember) => ({
    host: m.address,
    port: GALERA_PORTS.sql,
    db: "shop",
    user: "dc1/user/alice",
  });
  let members: LabGaleraMember[];
  /** A certificate of its own made on `worker`, with a lifetime that outlasts the MariaDB cases. */
  const freshOn = async (worker: ClusterProcess) => {
    const f = await onWorker(worker, "fresh", [600]);
    return { cert: f.cert, key: f.key, ca: f.ca } as Record<string, string>;
  };
  let dc2Cert: Record<string, string>;

  it("writes a row to shop on dc2's Galera member from a task on alice's dc2 worker with its job certificate; dc1's member returns it", async () => {
    members = await labGalera(lab);
    await until("every Galera member Synced in a cluster of 3", 180_000, () =>
      members.every((m) => synced(m)),
    );
    const w = proc("worker", "dc2");
    const [dc1Member, dc2Member] = ["dc1", "dc2"].map((dc) => members.find((m) => m.dc === dc)!);
    dc2Cert = await freshOn(w);
    const token = `job-${randomBytes(8).toString("hex")}`;
    const r = await onWorker(w, "my", [
      galeraTarget(dc2Member),
      dc2Cert,
      [
        ["CREATE TABLE IF NOT EXISTS job_rows (token VARCHAR(64) PRIMARY KEY, node VARCHAR(64))", null],
        ["INSERT INTO job_rows VALUES (%s, %s)", [token, address(w.server)]],
        ["SELECT CURRENT_USER()", null],
      ],
    ]);
    // the account the job certificate opened: the owner's, at this worker node's address
    assert.deepEqual(r.rows, [[`dc1/user/alice@${address(w.server)}`]], JSON.stringify(r));
    // replicated: another member, read as alice with her user certificate from the operator's network
    let seen: ClientResult | undefined;
    await until("the row on dc1's member", 30_000, () => {
      seen = mariadb(lab, dc1Member, {
        user: "dc1/user/alice",
        cert: alice,
        sql: `SELECT node FROM shop.job_rows WHERE token='${token}'`,
      });
      return seen.ok && seen.out !== "";
    }).catch(() => undefined);
    assert.deepEqual(seen, { ok: true, out: address(w.server), err: "" });
  });

  it("refuses at MariaDB dc2's worker's job certificate taken elsewhere: to dc1's worker and to the operator's machine (access denied at both), where dc1's own is accepted", async () => {
    const w1 = proc("worker", "dc1");
    const w2 = proc("worker", "dc2");
    const [dc1Member, dc2Member] = ["dc1", "dc2"].map((dc) => members.find((m) => m.dc === dc)!);
    const current = [["SELECT CURRENT_USER()", null]];
    // the network and the member let dc1's worker in: its own certificate opens its node's account
    const own = await onWorker(w1, "my", [galeraTarget(dc1Member), await freshOn(w1), current]);
    assert.deepEqual(own.rows, [[`dc1/user/alice@${address(w1.server)}`]], JSON.stringify(own));
    const inServer = `/var/lib/zeroroot/${w1.user!}/instance/run/job`;
    const to = join(serverPaths(w1.server, lab.dir).disk, inServer);
    const uid = partitionUid(Number(w1.user!.slice(-3)));
    const taken: Record<string, string> = {};
    for (const [k, x] of [
      ["cert", "crt"],
      ["key", "key"],
      ["ca", "ca"],
    ]) {
      copyFileSync(join(serverPaths(w2.server, lab.dir).disk, dc2Cert[k]), join(to, `taken-my.${x}`));
      chownSync(join(to, `taken-my.${x}`), uid, uid);
      chmodSync(join(to, `taken-my.${x}`), 0o600);
      taken[k] = `${inServer}/taken-my.${x}`;
    }
    // removed after the file: the PostgreSQL case above takes the newest file of this directory
    leftovers.push(...["crt", "key", "ca"].map((x) => join(to, `taken-my.${x}`)));
    const checkend = openssl(["x509", "-checkend", "15", "-noout", "-in", join(to, "taken-my.crt")]);
    assert.equal(checkend.status, 0, "the certificate taken is still valid for the attempts");
    // dc1's member checks the chain against dc2's site CA's CRL (gathered from every site) and then
    // refuses by the account's binding: w1's address logs in only with w1's certificate of dc1's site CA
    const r = await onWorker(w1, "my", [galeraTarget(dc1Member), taken, current]);
    process.stderr.write(`      taken to dc1's worker: MariaDB "${String(r.error)}"\n`);
    assert.equal(r.rows, undefined);
    assert.match(String(r.error), /\(1045, .*Access denied for user 'dc1\/user\/alice'@'/);
    await refusalAlert("mariadb", "dc1/user/alice", address(w1.server));
    // presented to dc2's member, which trusts its issuer, from another node: no account for that address
    const there = mariadb(lab, dc2Member, {
      user: "dc1/user/alice",
      cert: { name: "taken", chain: join(to, "taken-my.crt"), key: join(to, "taken-my.key"), pk8: "" },
      sql: "SELECT CURRENT_USER()",
    });
    process.stderr.write(`      taken to the operator's machine: MariaDB "${there.err}"\n`);
    assert.equal(there.ok, false, there.out);
    assert.match(there.err, /ERROR 1045 \(28000\): Access denied for user 'dc1\/user\/alice'@'/);
  });

  it("leaks neither the canary of the job's arguments and environment nor the job's key: lab files, process command lines, control-plane values", async () => {
    const w = proc("worker", "dc2");
    const keyFile = join(serverPaths(w.server, lab.dir).disk, obtained.key as string);
    const secrets = new Map<string, string>([["canary", canary]]);
    const d = Buffer.from(createPrivateKey(readFileSync(keyFile)).export({ format: "jwk" }).d!, "base64url");
    secrets.set("job key (hex)", d.toString("hex"));
    // bytes 0-11 of the scalar are base64 characters 48-63 of a P-256 PKCS#8 PEM
    secrets.set("job key (base64)", d.subarray(0, 12).toString("base64"));
    const patterns = file("patterns", [...secrets.values()].join("\n") + "\n");
    // the servers' logs and state (var, etc, tmp of each disk) and every other lab file
    const disks = readdirSync(join(lab.dir, "disks")).flatMap((s) =>
      ["var", "etc", "tmp"].map((x) => join(lab.dir, "disks", s, x)),
    );
    const g = spawnSync(
      "grep",
      ["-rlaF", "--exclude-dir=images", "--exclude-dir=disks", "-f", patterns, lab.dir, ...disks],
      { encoding: "utf8", maxBuffer: 1 << 26 },
    );
    assert.ok(g.status === 0 || g.status === 1, g.stderr);
    const hits = g.stdout.split("\n").filter((f) => f && f !== keyFile);
    const cmdlines = processCommandLines();
    const inProcs = secretsFoundIn(secrets, cmdlines);
    const values = await controlPlaneValues(lab);
    const inEtcd = secretsFoundIn(secrets, values);
    process.stderr.write(
      `      canary scan: ${hits.length} lab file(s) outside the key's own, ${inProcs.length} of ${cmdlines.length} command lines, ${inEtcd.length} of ${values.length} control-plane values\n`,
    );
    assert.ok(values.length > 0, "the control plane holds keys");
    assert.deepEqual(hits, []);
    assert.deepEqual(inProcs, []);
    assert.deepEqual(inEtcd, []);
    // the scanner finds what it looks for: the key file itself matched
    assert.ok(g.stdout.split("\n").includes(keyFile), "the job's key file was found by the scan");
  });
});
