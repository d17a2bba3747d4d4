/**
 * Job certificates in the lab (docs/compute.md, "Job certificates"), on the lab compute.test.ts
 * leaves (two servers per data center, alice's cluster up; read, not deployed again): tasks on alice's workers obtain job
 * certificates with the release's helper (zr_job.py) through their partition's socket, which the
 * agent serves; one task keeps running across more than three 60-second lifetimes (the profile's
 * minimum, so the test takes ~3.5 minutes instead of the issue's 30); requests from another
 * partition or for another node are refused; a canary and the job's key appear nowhere else.
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
import { readClusterState, rootEtcdctl } from "../../../lab/controlplane";
import { controlPlaneDir } from "../../../lab/orchestrate/controlplane";
import { DOMAIN, mgmtNs, readLabLayout, type LabLayout } from "../../../lab/orchestrate/layout";
import { labStatus } from "../../../lab/orchestrate/status";
import type { ClusterReport } from "../../../lab/releases/dask/status";
import { LAB_CLUSTER } from "../../../lab/releases/dask/lab";
import { partitionUid, POSTGRESQL_PORT } from "../../../lib/hardening";
import { MIN_LIFETIME_SECONDS } from "../../../lib/pki/profiles";
import { serverPaths } from "../../../lab/server";
import { issue, placements, type ClientCert } from "../storage/postgres-fixture";

/** How long the renewal task runs: more than three lifetimes of MIN_LIFETIME_SECONDS. */
const RENEWAL_TASK_SECONDS = 210;

/** alice's client: submits one function to one worker, its arguments on stdin (never on a command line). */
const CLIENT = `
import json, sys, time
from distributed import Client
from distributed.security import Security

def obtain(lifetime, canary):
    import os, zr_job
    os.environ["ZR_JOB_CANARY"] = canary  # where a careless helper would pass it on
    c = zr_job.current(lifetime)
    return {"cert": open(c.cert).read(), "ca": open(c.ca).read(), "chain": open(c.cert).read(),
            "key": c.key, "uid": os.getuid(), "serial": c.serial}

def other_node(hostname):
    import zr_job
    key, csr = zr_job.new_key_and_csr(zr_job.job_name(), [hostname])
    try:
        zr_job.ask_agent(csr, 60)
        return {"ok": True}
    except zr_job.JobCertificateError as e:
        return {"error": str(e)}

def renew(seconds, lifetime, every):
    import zr_job
    end = time.time() + seconds
    samples, certs, chains = [], {}, {}
    while True:
        c = zr_job.current(lifetime)
        now = time.time()
        if c.serial not in certs:
            certs[c.serial] = open(c.cert).read()
            chains[c.serial] = open(c.ca).read()
        samples.append({"at": now, "serial": c.serial, "notAfter": c.not_after})
        if now >= end:
            return {"samples": samples, "certs": certs, "roots": chains}
        time.sleep(every)

def _files(creds, lifetime):
    import zr_job
    if creds is None:
        c = zr_job.current(lifetime)
        return {"cert": c.cert, "key": c.key, "ca": c.ca, "serial": c.serial}
    return creds

def pg(target, creds, sql):
    import psycopg2
    f = _files(creds, 60)
    try:
        conn = psycopg2.connect(host=target["host"], hostaddr=target["hostaddr"], port=target["port"],
                                dbname=target["db"], user=target["user"], sslmode="verify-full",
                                sslrootcert=f["ca"], sslcert=f["cert"], sslkey=f["key"], connect_timeout=10)
        try:
            cur = conn.cursor()
            cur.execute(sql)
            rows = cur.fetchall() if cur.description else []
            conn.commit()
        finally:
            conn.close()
        return {"rows": rows, **f}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"[:400]}

def fresh(lifetime):
    import zr_job
    c = zr_job.JobCertificates(lifetime).current()  # a holder of its own: nothing deletes these files
    return {"cert": c.cert, "key": c.key, "ca": c.ca, "serial": c.serial}

scheduler, ca, cert, key, worker, mode = sys.argv[1:7]
args = json.loads(sys.stdin.read())
security = Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True)
with Client(scheduler, security=security, timeout=30) as client:
    fn = {"obtain": obtain, "other_node": other_node, "renew": renew, "pg": pg, "fresh": fresh}[mode]
    print(json.dumps(client.submit(fn, *args, workers=[worker], allow_other_workers=False, pure=False).result()))
`;

describe("job certificates for alice's tasks (lab)", function () {
  this.timeout(20 * 60_000);
  let lab: LabLayout;
  let dir: string;
  let cluster: ClusterReport;
  let alice: ClientCert;
  let renewal: Promise<Record<string, unknown>>;
  const address = (serverId: string) =>
    lab.plan.dataCenters.flatMap((d) => d.servers).find((s) => s.id === serverId)!.dataAddress;
  const hostnameOf = (serverId: string) =>
    (
      JSON.parse(
        readFileSync(join(serverPaths(serverId, lab.dir).disk, "etc/zeroroot/agent.json"), "utf8"),
      ) as {
        hostname: string;
      }
    ).hostname;
  const proc = (role: string, dc: string) =>
    cluster.processes.find((p) => p.role === role && p.server.startsWith(`${dc}-`))!;
  const url = (p: { server: string; port: number }) => `tls://${address(p.server)}:${p.port}`;

  /** Runs `mode` on `worker` from dc1's management network as alice's client (asynchronous). */
  const onWorker = (worker: ClusterReport["processes"][number], mode: string, args: unknown[]) =>
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
    const saved = readLabLayout();
    if (!saved) throw new Error("no lab to read: run test/lab/workloads/compute.test.ts first (or `lab up`)");
    lab = saved;
    dir = mkdtempSync(join(tmpdir(), "zr-jobs-"));
    writeFileSync(join(dir, "client.py"), CLIENT);
    const end = Date.now() + 180_000;
    for (;;) {
      const st = await labStatus(lab);
      cluster = st.compute[0];
      if (cluster && cluster.registeredWorkers === LAB_CLUSTER.workers.count) break;
      if (Date.now() > end) throw new Error(`alice's cluster is not up: ${st.problems.join("; ")}`);
      await new Promise((r) => setTimeout(r, 3_000));
    }
    alice = issue(lab, dir, "alice");
    // the long task first, on dc1's worker; the other tests use dc2's worker meanwhile
    renewal = onWorker(proc("worker", "dc1"), "renew", [RENEWAL_TASK_SECONDS, MIN_LIFETIME_SECONDS, 5]);
    renewal.catch(() => undefined);
  });
  after(() => {
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

  // the datastores: the job lines the stack renders for every worker node of alice's clusters
  /** The PostgreSQL instance in `dc` (dc1's primary, dc2's replica): the one a worker there is granted. */
  const pgTarget = (dc: string) => {
    const { primary, replica } = placements(lab);
    const p = [primary, replica].find((x) => x.server.id.startsWith(`${dc}-`))!;
    return {
      host: p.serviceName,
      hostaddr: p.server.dataAddress,
      port: POSTGRESQL_PORT,
      db: "analytics",
      user: "alice",
    };
  };
  let kept: Record<string, unknown>;

  it("reads PostgreSQL as alice from her dc2 worker with a job certificate", async () => {
    const w = proc("worker", "dc2");
    const r = await onWorker(w, "pg", [pgTarget("dc2"), null, "SELECT current_user, current_database()"]);
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
    const pg = await onWorker(w2, "pg", [pgTarget("dc2"), taken, "SELECT 1"]);
    process.stderr.write(`      taken to dc2: PostgreSQL "${String(pg.error)}"\n`);
    assert.equal(pg.rows, undefined);
    assert.match(String(pg.error), /no pg_hba\.conf entry|certificate authentication failed/);
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
    const pg = await onWorker(w, "pg", [pgTarget("dc2"), creds, "SELECT 1"]);
    process.stderr.write(`      expired: PostgreSQL "${String(pg.error)}"\n`);
    assert.equal(pg.rows, undefined);
    assert.match(String(pg.error), /certificate expired/);
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
    const cmdlines = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .flatMap((p) => {
        try {
          return [readFileSync(`/proc/${p}/cmdline`, "latin1").replace(/\0/g, " ")];
        } catch {
          return [];
        }
      });
    const inProcs = [...secrets].filter(([, v]) => cmdlines.some((c) => c.includes(v))).map(([k]) => k);
    const etcd = await rootEtcdctl(readClusterState(controlPlaneDir(lab)))([
      "get",
      "",
      "--prefix",
      "-w",
      "json",
    ]);
    const values = ((JSON.parse(etcd) as { kvs?: { value?: string }[] }).kvs ?? []).map((kv) =>
      Buffer.from(kv.value ?? "", "base64").toString("latin1"),
    );
    const inEtcd = [...secrets].filter(([, v]) => values.some((x) => x.includes(v))).map(([k]) => k);
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
