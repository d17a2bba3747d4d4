/**
 * What a real PostgreSQL 15 makes of job certificates, with the lines docs/compute.md ("Job
 * certificates") designs for it: one `clientname=DN` line per (role, worker address) before the
 * CN catch-all. The "node" is 127.0.0.1; a certificate bound to 127.0.0.2 stands for one taken from
 * another node. Needs root (PostgreSQL runs as the `postgres` user) and Debian's postgresql-15.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { pgJobLines } from "../../../lib/compute/job-access";
import { jobAuthorisation } from "../../../lib/compute/job-cert";
import * as pki from "../../../lib/pki";
import { asCa, forge, scopeOf } from "../../unit/pki/forge";

const BIN = "/usr/lib/postgresql/15/bin";
const ZONE = "dc2.zeroroot.example";
const HOST = `c01.${ZONE}`;
const ALICE = { dataCenter: "dc1", kind: "user" as const, name: "alice" };
const BOB = { dataCenter: "dc1", kind: "user" as const, name: "bob" };

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe("job certificates at a real PostgreSQL 15 (clientname=DN lines per worker address)", function () {
  this.timeout(120_000);
  let dir: string;
  let port: number;
  let pg: ChildProcess | undefined;
  const root = pki.createRootCa({ commonName: "zeroroot root CA" });
  const siteKey = pki.generateKeyPair();
  const site = pki.loadCa(
    pki.issueFromCsr(
      root.ca,
      "issuing",
      pki.createCsr({ commonName: "zeroroot issuing CA dc2" }, siteKey.privateKey),
      {
        nameScope: { dnsZones: [ZONE], ipNetworks: ["127.0.0.0/8"], kinds: ["computer", "service", "job"] },
      },
    ).certificatePem,
    pki.exportPkcs8(siteKey.privateKey),
  );
  const asPostgres = (args: string[]) =>
    spawnSync("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", ...args], {
      encoding: "utf8",
    });

  /** A job key and certificate bound to `address`, issued `ago` ms before now; returns psql's files. */
  function jobFiles(name: string, owner: typeof ALICE, address: string, ago = 0, signer = site) {
    const key = pki.generateKeyPair();
    const csr = pki.createCsr({ commonName: pki.jobName(owner) }, key.privateKey);
    const leaf = pki.issueFromCsr(
      signer,
      "job",
      csr,
      jobAuthorisation(owner, { hostname: HOST, address }, 60),
      {
        now: new Date(Date.now() - ago),
      },
    );
    const cert = path.join(dir, `${name}.pem`);
    const keyFile = path.join(dir, `${name}.key`);
    fs.writeFileSync(cert, leaf.certificatePem + signer.certificatePem);
    fs.writeFileSync(keyFile, pki.exportPkcs8(key.privateKey), { mode: 0o600 });
    return { cert, key: keyFile };
  }

  function psqlAs(role: string, files: { cert: string; key: string }): { ok: boolean; out: string } {
    const conninfo = `host=${HOST} hostaddr=127.0.0.1 port=${port} dbname=analytics user=${role} sslmode=verify-full sslrootcert=${path.join(dir, "root.pem")} sslcert=${files.cert} sslkey=${files.key}`;
    const r = spawnSync("psql", [conninfo, "-XAtc", "SELECT sum(v) FROM t"], { encoding: "utf8" });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
  }

  before(async function () {
    if (process.getuid?.() !== 0 || !fs.existsSync(`${BIN}/postgres`)) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-jobpg-"));
    fs.chmodSync(dir, 0o755);
    spawnSync("chown", ["postgres:postgres", dir]);
    const data = path.join(dir, "data");
    port = await freePort();
    fs.writeFileSync(path.join(dir, "root.pem"), root.certificatePem);
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
    fs.writeFileSync(path.join(dir, "server.crt"), srv.certificatePem + site.certificatePem);
    fs.writeFileSync(path.join(dir, "server.key"), pki.exportPkcs8(srvKey.privateKey), { mode: 0o600 });
    spawnSync("chown", ["postgres:postgres", path.join(dir, "server.key")]);
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
    fs.appendFileSync(
      path.join(data, "postgresql.conf"),
      [
        `listen_addresses = '127.0.0.1'`,
        `port = ${port}`,
        `unix_socket_directories = '${dir}'`,
        `ssl = on`,
        `ssl_cert_file = '${dir}/server.crt'`,
        `ssl_key_file = '${dir}/server.key'`,
        `ssl_ca_file = '${dir}/root.pem'`,
        "",
      ].join("\n"),
    );
    // the job line of alice's worker node (as lib renders it) first, then the users' CN catch-all (pg_common.py's)
    const job = pgJobLines([
      { database: "analytics", owner: ALICE, access: "read", workerDataCenter: "dc2", address: "127.0.0.1" },
    ]);
    fs.writeFileSync(
      path.join(data, "pg_hba.conf"),
      [
        "local all postgres peer",
        ...job.hba,
        "hostssl all all 0.0.0.0/0 cert clientcert=verify-full map=certmap",
        "",
      ].join("\n"),
    );
    fs.writeFileSync(
      path.join(data, "pg_ident.conf"),
      [...job.ident, "certmap alice alice", "certmap bob bob", ""].join("\n"),
    );
    pg = spawn(
      "setpriv",
      ["--reuid=postgres", "--regid=postgres", "--init-groups", `${BIN}/postgres`, "-D", data],
      {
        stdio: "ignore",
      },
    );
    for (let i = 0; i < 100; i++) {
      if (spawnSync("pg_isready", ["-h", dir, "-p", String(port)]).status === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const sql = asPostgres([
      "psql",
      "-h",
      dir,
      "-p",
      String(port),
      "-U",
      "postgres",
      "-XAt",
      "-c",
      "CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;",
      "-c",
      "CREATE DATABASE analytics",
    ]);
    assert.equal(sql.status, 0, sql.stderr);
    const t = asPostgres([
      "psql",
      "-h",
      dir,
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      "analytics",
      "-XAtc",
      "CREATE TABLE t (v int); INSERT INTO t VALUES (20), (22); GRANT SELECT ON t TO alice, bob;",
    ]);
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

  it("lets alice's job certificate of this node read as alice", () => {
    const r = psqlAs("alice", jobFiles("alice-here", ALICE, "127.0.0.1"));
    assert.deepEqual(r, { ok: true, out: "42" });
  });

  const refused: [string, () => { role: string; files: { cert: string; key: string } }, RegExp][] = [
    [
      "alice's job certificate of another node (taken here)",
      () => ({ role: "alice", files: jobFiles("alice-there", ALICE, "127.0.0.2") }),
      /certificate authentication failed for user "alice"/,
    ],
    [
      "bob's job certificate asking to be alice",
      () => ({ role: "alice", files: jobFiles("bob-here", BOB, "127.0.0.1") }),
      /certificate authentication failed/,
    ],
    [
      "bob's job certificate as bob (no job line for bob: the CN map does not know dc1.bob)",
      () => ({ role: "bob", files: jobFiles("bob-as-bob", BOB, "127.0.0.1") }),
      /certificate authentication failed/,
    ],
    [
      "alice's expired job certificate",
      () => ({ role: "alice", files: jobFiles("alice-old", ALICE, "127.0.0.1", 2 * 3600_000) }),
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
        const cert = path.join(dir, "lax.pem");
        const key = path.join(dir, "lax.key");
        fs.writeFileSync(cert, leaf + lax.certificatePem);
        fs.writeFileSync(key, pki.exportPkcs8(leafKey.privateKey), { mode: 0o600 });
        return { role: "alice", files: { cert, key } };
      },
      /alert certificate unknown/,
    ],
  ];
  for (const [what, make, match] of refused)
    it(`refuses ${what}`, () => {
      const c = make();
      const r = psqlAs(c.role, c.files);
      assert.equal(r.ok, false, r.out);
      assert.match(r.out, match);
    });
});
