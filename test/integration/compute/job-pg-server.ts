/**
 * The PostgreSQL 15 that test/integration/compute/job-pg.test.ts asks: a root, dc2's site CA and
 * dc1's users' CA; an instance as the agent writes it (service certificate, access.txt,
 * replication.txt, the stack's jobAccess lines in etc/job-access.txt); pg_hba.conf and
 * pg_ident.conf written by the release's own pg_common.py (run as on a server, with job_access.py
 * and crl_sources.py beside it, as the `postgres` user); then initdb and PostgreSQL started on
 * them, listening on 127.0.0.1 (the "node"). CRLs are not its subject: ssl_crl_file is emptied on
 * the command line (test/integration/datastores covers them). Needs root and Debian's postgresql-15.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stopProcess } from "../../helpers/stop-process";
import { formatJobAccessLine, type JobAccessEntry } from "../../../lib/compute/job-access";
import * as pki from "../../../lib/pki";
import {
  freePort,
  jobCertificateFiles,
  writeClientFiles,
  type ClientFiles,
} from "../../helpers/job-datastore";

export const BIN = "/usr/lib/postgresql/15/bin";
const REPO = path.join(__dirname, "../../..");
export const PY_PATH = ["lab/releases/postgresql", "agents/crl", "agents/datastores"].map((d) =>
  path.join(REPO, d),
);
export const ZONE = "dc2.zeroroot.example";
export const HOST = `c01.${ZONE}`;

/** Whether this host can run the server: root (PostgreSQL runs as `postgres`) and postgresql-15. */
/** setpriv's arguments that run a command as Debian's postgres user (PostgreSQL refuses root). */
export const AS_POSTGRES = ["--reuid=postgres", "--regid=postgres", "--init-groups"];

export const canRunPostgres = (): boolean => process.getuid?.() === 0 && fs.existsSync(`${BIN}/postgres`);

export class JobPgServer {
  dir = "";
  inst = "";

  /** @param keepLog write the server's stderr (its log, as supervisord keeps it) to `logFile` */
  constructor(private readonly keepLog = false) {}

  get logFile(): string {
    return path.join(this.dir, "postgres.log");
  }
  port = 0;
  private pg: ChildProcess | undefined;
  readonly root = pki.createRootCa({ commonName: "zeroroot root CA" });
  readonly site = this.siteCa("zeroroot issuing CA dc2", ["computer", "service", "job"]);
  // the CA of dc1's users (an offline issuing CA in a real hierarchy)
  readonly users = (() => {
    const key = pki.generateKeyPair();
    const cert = pki.issueFromCsr(
      this.root.ca,
      "issuing",
      pki.createCsr({ commonName: "zeroroot issuing CA dc1 users" }, key.privateKey),
      { nameScope: { dnsZones: ["dc1.zeroroot.example"] } },
    );
    return pki.loadCa(cert.certificatePem, pki.exportPkcs8(key.privateKey));
  })();

  private siteCa(cn: string, kinds: pki.LeafKind[]): pki.CertificateAuthority {
    const key = pki.generateKeyPair();
    const cert = pki.issueFromCsr(
      this.root.ca,
      "issuing",
      pki.createCsr({ commonName: cn }, key.privateKey),
      {
        nameScope: { dnsZones: [ZONE], ipNetworks: ["127.0.0.0/8"], kinds },
      },
    );
    return pki.loadCa(cert.certificatePem, pki.exportPkcs8(key.privateKey));
  }

  asPostgres(args: string[], env: Record<string, string> = {}) {
    return spawnSync(
      "setpriv",
      [...AS_POSTGRES, "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...args],
      { encoding: "utf8" },
    );
  }

  /** A job certificate of `owner` bound to the node `address`, issued `agoMs` ago by `signer`. */
  job(name: string, owner: pki.Identity, address: string, agoMs = 0, signer = this.site): ClientFiles {
    return jobCertificateFiles(this.dir, name, { owner, address, hostname: HOST, signer, agoMs });
  }

  /** A user certificate of dc1's users' CA for `name`. */
  userFiles(name: string): ClientFiles {
    const key = pki.generateKeyPair();
    const leaf = pki.issueFromCsr(
      this.users,
      "user",
      pki.createCsr({ commonName: name }, key.privateKey),
      {},
    );
    return writeClientFiles(
      this.dir,
      `user-${name}`,
      leaf.certificatePem + this.users.certificatePem,
      key.privateKey,
    );
  }

  /** pg_common.render_configs as the release's pg-access.py runs it, as the instance's user. */
  renderAsRelease(jobs: readonly JobAccessEntry[]): { ok: boolean; out: string } {
    fs.writeFileSync(
      path.join(this.inst, "etc", "job-access.txt"),
      jobs.map(formatJobAccessLine).join("\n") + "\n",
    );
    const py = `import sys; sys.path[:0] = ${JSON.stringify(PY_PATH)}
import pg_common
pg_common.prepare_tls()
pg_common.render_configs(${this.port})`;
    const r = this.asPostgres(["python3", "-B", "-c", py], { ZR_INSTANCE_DIR: this.inst, USER: "postgres" });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
  }

  psqlAdmin(sql: string, db = "postgres") {
    return this.asPostgres([
      "psql",
      "-h",
      path.join(this.inst, "run"),
      "-p",
      String(this.port),
      "-U",
      "postgres",
      "-d",
      db,
      "-XAtc",
      sql,
    ]);
  }

  /** `SELECT sum(v) FROM t` in database analytics as `role`, over TLS with the client's `files`. */
  psqlAs(role: string, files: ClientFiles): { ok: boolean; out: string } {
    const conninfo = `host=${HOST} hostaddr=127.0.0.1 port=${this.port} dbname=analytics user=${role} sslmode=verify-full sslrootcert=${path.join(this.dir, "root.pem")} sslcert=${files.cert} sslkey=${files.key}`;
    const r = spawnSync("psql", [conninfo, "-XAtc", "SELECT sum(v) FROM t"], { encoding: "utf8" });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
  }

  /**
   * The instance with `jobs` rendered, PostgreSQL started on it, roles alice and bob, database
   * analytics with table t (20 + 22) readable by both.
   */
  async start(jobs: readonly JobAccessEntry[]): Promise<void> {
    const { root, site } = this;
    const dir = (this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-jobpg-")));
    fs.chmodSync(dir, 0o755);
    const inst = (this.inst = path.join(dir, "inst"));
    for (const d of ["etc", "tls"]) fs.mkdirSync(path.join(inst, d), { recursive: true });
    this.port = await freePort();
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
    const rendered = this.renderAsRelease(jobs);
    assert.ok(rendered.ok, rendered.out);
    const data = path.join(inst, "data");
    const init = this.asPostgres([
      `${BIN}/initdb`,
      "-D",
      data,
      "-U",
      "postgres",
      "--auth-local=peer",
      "--auth-host=reject",
    ]);
    assert.equal(init.status, 0, init.stderr);
    const fd = this.keepLog ? fs.openSync(this.logFile, "a", 0o640) : undefined;
    this.pg = spawn(
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
      { stdio: fd === undefined ? "ignore" : ["ignore", fd, fd] },
    );
    if (fd !== undefined) fs.closeSync(fd);
    for (let i = 0; i < 100; i++) {
      if (spawnSync("pg_isready", ["-h", path.join(inst, "run"), "-p", String(this.port)]).status === 0)
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const sql of ["CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN", "CREATE DATABASE analytics"]) {
      const r = this.psqlAdmin(sql);
      assert.equal(r.status, 0, r.stderr);
    }
    const t = this.psqlAdmin(
      "CREATE TABLE t (v int); INSERT INTO t VALUES (20), (22); GRANT SELECT ON t TO alice, bob;",
      "analytics",
    );
    assert.equal(t.status, 0, t.stderr);
  }

  /** Stops PostgreSQL (SIGTERM, waits for it) and removes the directory. */
  async stop(): Promise<void> {
    if (this.pg) await stopProcess(this.pg, 30_000);
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
