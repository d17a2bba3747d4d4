/**
 * What a real PostgreSQL 15 makes of job certificates with the configuration the release renders:
 * the stack's `jobAccess` lines (lib/compute/job-access.ts) in the instance's etc/job-access.txt,
 * pg_hba.conf and pg_ident.conf written by the release's own pg_common.py (run as on a server, with
 * job_access.py and crl_sources.py beside it), then PostgreSQL started on them. The "node" is
 * 127.0.0.1; a certificate bound to 127.0.0.2 stands for one taken from another node. Needs root
 * (PostgreSQL runs as the `postgres` user) and Debian's postgresql-15. CRLs are not this test's
 * subject: ssl_crl_file is emptied on the command line (test/integration/datastores covers them).
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatJobAccessLine, pgJobLines, type JobAccessEntry } from "../../../lib/compute/job-access";
import * as pki from "../../../lib/pki";
import {
  freePort,
  itRefuses,
  jobCertificateFiles,
  writeClientFiles,
  type ClientFiles,
} from "../../helpers/job-datastore";
import { asCa, forge, scopeOf } from "../../unit/pki/forge";

const BIN = "/usr/lib/postgresql/15/bin";
const REPO = path.join(__dirname, "../../..");
const PY_PATH = ["lab/releases/postgresql", "agents/crl", "agents/datastores"].map((d) => path.join(REPO, d));
const ZONE = "dc2.zeroroot.example";
const HOST = `c01.${ZONE}`;
const ALICE = { dataCenter: "dc1", kind: "user" as const, name: "alice" };
const BOB = { dataCenter: "dc1", kind: "user" as const, name: "bob" };
/** alice's worker nodes: this one, another, and one by IPv6 (PostgreSQL must parse its line and map). */
const JOBS: JobAccessEntry[] = ["127.0.0.1", "127.0.0.3", "::1"].map((address) => ({
  database: "analytics",
  owner: ALICE,
  access: "read",
  workerDataCenter: "dc2",
  address,
}));

describe("job certificates at a real PostgreSQL 15 (pg_common.py's lines from jobAccess)", function () {
  this.timeout(120_000);
  let dir: string;
  let inst: string;
  let port: number;
  let pg: ChildProcess | undefined;
  const root = pki.createRootCa({ commonName: "zeroroot root CA" });
  const siteCa = (cn: string, kinds: pki.LeafKind[]) => {
    const key = pki.generateKeyPair();
    const cert = pki.issueFromCsr(root.ca, "issuing", pki.createCsr({ commonName: cn }, key.privateKey), {
      nameScope: { dnsZones: [ZONE], ipNetworks: ["127.0.0.0/8"], kinds },
    });
    return pki.loadCa(cert.certificatePem, pki.exportPkcs8(key.privateKey));
  };
  const site = siteCa("zeroroot issuing CA dc2", ["computer", "service", "job"]);
  // the CA of dc1's users (an offline issuing CA in a real hierarchy)
  const users = (() => {
    const key = pki.generateKeyPair();
    const cert = pki.issueFromCsr(
      root.ca,
      "issuing",
      pki.createCsr({ commonName: "zeroroot issuing CA dc1 users" }, key.privateKey),
      { nameScope: { dnsZones: ["dc1.zeroroot.example"] } },
    );
    return pki.loadCa(cert.certificatePem, pki.exportPkcs8(key.privateKey));
  })();
  const asPostgres = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(
      "setpriv",
      [
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "env",
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        ...args,
      ],
      { encoding: "utf8" },
    );
  const job = (name: string, owner: typeof ALICE, address: string, agoMs = 0, signer = site) =>
    jobCertificateFiles(dir, name, { owner, address, hostname: HOST, signer, agoMs });
  const userFiles = (name: string): ClientFiles => {
    const key = pki.generateKeyPair();
    const leaf = pki.issueFromCsr(users, "user", pki.createCsr({ commonName: name }, key.privateKey), {});
    return writeClientFiles(dir, `user-${name}`, leaf.certificatePem + users.certificatePem, key.privateKey);
  };

  /** pg_common.render_configs as the release's pg-access.py runs it, as the instance's user. */
  function renderAsRelease(jobs: readonly JobAccessEntry[]): { ok: boolean; out: string } {
    fs.writeFileSync(
      path.join(inst, "etc", "job-access.txt"),
      jobs.map(formatJobAccessLine).join("\n") + "\n",
    );
    const py = `import sys; sys.path[:0] = ${JSON.stringify(PY_PATH)}
import pg_common
pg_common.prepare_tls()
pg_common.render_configs(${port})`;
    const r = asPostgres(["python3", "-B", "-c", py], { ZR_INSTANCE_DIR: inst, USER: "postgres" });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
  }
  const psqlAdmin = (sql: string, db = "postgres") =>
    asPostgres([
      "psql",
      "-h",
      path.join(inst, "run"),
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      db,
      "-XAtc",
      sql,
    ]);

  function psqlAs(role: string, files: ClientFiles): { ok: boolean; out: string } {
    const conninfo = `host=${HOST} hostaddr=127.0.0.1 port=${port} dbname=analytics user=${role} sslmode=verify-full sslrootcert=${path.join(dir, "root.pem")} sslcert=${files.cert} sslkey=${files.key}`;
    const r = spawnSync("psql", [conninfo, "-XAtc", "SELECT sum(v) FROM t"], { encoding: "utf8" });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
  }

  before(async function () {
    if (process.getuid?.() !== 0 || !fs.existsSync(`${BIN}/postgres`)) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-jobpg-"));
    fs.chmodSync(dir, 0o755);
    inst = path.join(dir, "inst");
    for (const d of ["etc", "tls"]) fs.mkdirSync(path.join(inst, d), { recursive: true });
    port = await freePort();
    fs.writeFileSync(path.join(dir, "root.pem"), root.certificatePem);
    // the instance as the agent writes it: the service certificate, the parameters' files
    const srvKey = pki.generateKeyPair();
    const srv = pki.issueFromCsr(
      site,
      "service",
      pki.createCsr({ commonName: `pg.${ZONE}` }, srvKey.privateKey),
      {
        dnsNames: [HOST],
        ipAddresses: ["127.0.0.1"],
      },
    );
    fs.writeFileSync(path.join(inst, "tls", "cert.pem"), srv.certificatePem);
    fs.writeFileSync(path.join(inst, "tls", "key.pem"), pki.exportPkcs8(srvKey.privateKey), { mode: 0o600 });
    fs.writeFileSync(path.join(inst, "tls", "chain.pem"), site.certificatePem + root.certificatePem);
    fs.writeFileSync(
      path.join(inst, "etc", "access.txt"),
      "analytics dc1/user/alice read\nanalytics dc1/user/bob read\n",
    );
    fs.writeFileSync(path.join(inst, "etc", "replication.txt"), "\n");
    spawnSync("chown", ["-R", "postgres:postgres", dir]);
    const rendered = renderAsRelease(JOBS);
    assert.ok(rendered.ok, rendered.out);
    const data = path.join(inst, "data");
    const init = asPostgres([
      `${BIN}/initdb`,
      "-D",
      data,
      "-U",
      "postgres",
      "--auth-local=peer",
      "--auth-host=reject",
    ]);
    assert.equal(init.status, 0, init.stderr);
    pg = spawn(
      "setpriv",
      [
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        `${BIN}/postgres`,
        "-D",
        data,
        "-c",
        `config_file=${path.join(inst, "run", "postgresql.conf")}`,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "ssl_crl_file=",
      ],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 100; i++) {
      if (spawnSync("pg_isready", ["-h", path.join(inst, "run"), "-p", String(port)]).status === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const sql of ["CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN", "CREATE DATABASE analytics"]) {
      const r = psqlAdmin(sql);
      assert.equal(r.status, 0, r.stderr);
    }
    const t = psqlAdmin(
      "CREATE TABLE t (v int); INSERT INTO t VALUES (20), (22); GRANT SELECT ON t TO alice, bob;",
      "analytics",
    );
    assert.equal(t.status, 0, t.stderr);
  });

  after(async () => {
    const proc = pg;
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("renders the job lines lib renders, before the users' CN catch-all", () => {
    const hba = fs.readFileSync(path.join(inst, "run", "pg_hba.conf"), "utf8").split("\n");
    const ident = fs.readFileSync(path.join(inst, "run", "pg_ident.conf"), "utf8").split("\n");
    const lib = pgJobLines(JOBS);
    const first = hba.indexOf(lib.hba[0]);
    assert.ok(first > 0, hba.join("\n"));
    assert.deepEqual(hba.slice(first, first + lib.hba.length + 1), [
      ...lib.hba,
      "hostssl all all 0.0.0.0/0 cert clientcert=verify-full map=certmap",
    ]);
    for (const line of lib.ident) assert.ok(ident.includes(line), `${line} in pg_ident.conf`);
  });

  it("lets alice's job certificate of this node read as alice", () => {
    assert.deepEqual(psqlAs("alice", job("alice-here", ALICE, "127.0.0.1")), { ok: true, out: "42" });
  });

  itRefuses<{ role: string; files: ClientFiles }>(
    [
      [
        "alice's job certificate of another node (taken here)",
        () => ({ role: "alice", files: job("alice-there", ALICE, "127.0.0.3") }),
        /certificate authentication failed for user "alice"/,
      ],
      [
        "bob's job certificate asking to be alice",
        () => ({ role: "alice", files: job("bob-here", BOB, "127.0.0.1") }),
        /certificate authentication failed/,
      ],
      [
        "bob's job certificate as bob (no job line for him: the CN map does not know dc1.bob)",
        () => ({ role: "bob", files: job("bob-as-bob", BOB, "127.0.0.1") }),
        /certificate authentication failed/,
      ],
      [
        "alice's user certificate from her worker node (jobs there use job certificates)",
        () => ({ role: "alice", files: userFiles("alice") }),
        /certificate authentication failed for user "alice"/,
      ],
      [
        "alice's expired job certificate",
        () => ({ role: "alice", files: job("alice-old", ALICE, "127.0.0.1", 2 * 3600_000) }),
        /alert certificate expired/,
      ],
      [
        "a job certificate from a site CA the root did not permit jobs",
        () => {
          const k = pki.generateKeyPair();
          const lax = asCa(
            forge(root.ca, {
              cn: "lax CA dc2",
              publicKey: k.publicKey,
              ca: { pathLen: 0, scope: scopeOf(ZONE, ["computer", "service"], ["127.0.0.0/8"]) },
            }),
            k.privateKey,
          );
          const leafKey = pki.generateKeyPair();
          const leaf = forge(lax, {
            cn: "dc1.alice",
            publicKey: leafKey.publicKey,
            eku: ["clientAuth"],
            dns: [HOST],
            ips: ["127.0.0.1"],
            uris: [`zeroroot://job.${ZONE}/dc1.alice`],
            notAfter: new Date(Date.now() + 600_000),
          });
          return {
            role: "alice",
            files: writeClientFiles(dir, "lax", leaf + lax.certificatePem, leafKey.privateKey),
          };
        },
        /alert certificate unknown/,
      ],
    ],
    (c) => psqlAs(c.role, c.files),
  );

  it("drops the node's lines when the node goes (jobAccess without it, reloaded): the catch-all applies again", async () => {
    const files = job("alice-before", ALICE, "127.0.0.1");
    assert.equal(psqlAs("alice", files).ok, true);
    assert.equal(
      psqlAs("alice", userFiles("alice")).ok,
      false,
      "her user certificate, while a job line holds",
    );
    const rendered = renderAsRelease(JOBS.filter((e) => e.address !== "127.0.0.1"));
    assert.ok(rendered.ok, rendered.out);
    assert.equal(asPostgres([`${BIN}/pg_ctl`, "reload", "-s", "-D", path.join(inst, "data")]).status, 0);
    await new Promise((r) => setTimeout(r, 1000));
    const after = psqlAs("alice", files);
    assert.equal(after.ok, false, after.out);
    assert.match(after.out, /certificate authentication failed/);
    // no job line for alice here any more: her user certificate opens her role by its CN
    assert.deepEqual(psqlAs("alice", userFiles("alice")), { ok: true, out: "42" });
  });

  it("refuses a hostile jobAccess value with the parameter, file and line named, and writes nothing", () => {
    const hba = fs.readFileSync(path.join(inst, "run", "pg_hba.conf"), "utf8");
    fs.writeFileSync(
      path.join(inst, "etc", "job-access.txt"),
      "analytics dc1/user/alice read dc2 127.0.0.1/0\n",
    );
    const py = `import sys; sys.path[:0] = ${JSON.stringify(PY_PATH)}
import pg_common
pg_common.render_configs(${port})`;
    const r = asPostgres(["python3", "-B", "-c", py], { ZR_INSTANCE_DIR: inst, USER: "postgres" });
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      /parameter jobAccess \(etc\/job-access\.txt:1\): "analytics dc1\/user\/alice read dc2 127\.0\.0\.1\/0"/,
    );
    assert.doesNotMatch(r.stderr, /Traceback/);
    assert.equal(fs.readFileSync(path.join(inst, "run", "pg_hba.conf"), "utf8"), hba);
  });
});
