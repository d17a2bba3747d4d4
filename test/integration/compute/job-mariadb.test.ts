/**
 * What a real MariaDB 10.11 makes of job certificates, with the accounts docs/compute.md ("Job
 * certificates") designs: per worker node an account of the owner's identity at the node's address,
 * REQUIRE SUBJECT '/O=<address>/CN=<dc>.<user>' AND ISSUER '<worker data center's CA>'. The node is
 * 127.0.0.1. Needs root (mariadbd runs as `mysql`) and Debian's mariadb-server.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { mariadbJobAccount } from "../../../lib/compute/job-access";
import { jobAuthorisation } from "../../../lib/compute/job-cert";
import * as pki from "../../../lib/pki";

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

function issuingCa(root: pki.CertificateAuthority, zone: string, cn: string): pki.CertificateAuthority {
  const key = pki.generateKeyPair();
  const cert = pki.issueFromCsr(root, "issuing", pki.createCsr({ commonName: cn }, key.privateKey), {
    nameScope: { dnsZones: [zone], ipNetworks: ["127.0.0.0/8"], kinds: ["computer", "service", "job"] },
  });
  return pki.loadCa(cert.certificatePem, pki.exportPkcs8(key.privateKey));
}

describe("job certificates at a real MariaDB 10.11 (an account per worker address, subject and issuer)", function () {
  this.timeout(180_000);
  let dir: string;
  let port: number;
  let db: ChildProcess | undefined;
  const root = pki.createRootCa({ commonName: "zeroroot root CA" });
  const dc2 = issuingCa(root.ca, ZONE, "zeroroot issuing CA dc2");
  // another data center's CA that mints the same subject (a compromised site): ISSUER refuses it
  const dc3 = issuingCa(root.ca, "dc3.zeroroot.example", "zeroroot issuing CA dc3");

  function jobFiles(name: string, owner: typeof ALICE, address: string, ago = 0, ca = dc2, host = HOST) {
    const key = pki.generateKeyPair();
    const csr = pki.createCsr({ commonName: pki.jobName(owner) }, key.privateKey);
    const leaf = pki.issueFromCsr(ca, "job", csr, jobAuthorisation(owner, { hostname: host, address }, 60), {
      now: new Date(Date.now() - ago),
    });
    const cert = path.join(dir, `${name}.pem`);
    const keyFile = path.join(dir, `${name}.key`);
    fs.writeFileSync(cert, leaf.certificatePem + ca.certificatePem);
    fs.writeFileSync(keyFile, pki.exportPkcs8(key.privateKey), { mode: 0o600 });
    return { cert, key: keyFile };
  }

  const client = (args: string[], sql: string) =>
    spawnSync(
      "mariadb",
      ["--no-defaults", "--protocol=TCP", "--host=127.0.0.1", `--port=${port}`, ...args, "-NBe", sql],
      {
        encoding: "utf8",
      },
    );

  function writeAs(files: { cert: string; key: string }): { ok: boolean; out: string } {
    const r = client(
      [
        "--user=dc1/user/alice",
        `--ssl-ca=${path.join(dir, "root.pem")}`,
        "--ssl-verify-server-cert",
        `--ssl-cert=${files.cert}`,
        `--ssl-key=${files.key}`,
      ],
      "INSERT INTO shop.result VALUES (42); SELECT count(*) FROM shop.result",
    );
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
  }

  before(async function () {
    if (process.getuid?.() !== 0 || !fs.existsSync("/usr/sbin/mariadbd")) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-jobdb-"));
    fs.chmodSync(dir, 0o755);
    spawnSync("chown", ["mysql:mysql", dir]);
    port = await freePort();
    const data = path.join(dir, "data");
    fs.writeFileSync(path.join(dir, "root.pem"), root.certificatePem);
    const srvKey = pki.generateKeyPair();
    const srv = pki.issueFromCsr(
      dc2,
      "service",
      pki.createCsr({ commonName: `galera.${ZONE}` }, srvKey.privateKey),
      {
        ipAddresses: ["127.0.0.1"],
      },
    );
    fs.writeFileSync(path.join(dir, "server.crt"), srv.certificatePem + dc2.certificatePem);
    fs.writeFileSync(path.join(dir, "server.key"), pki.exportPkcs8(srvKey.privateKey), { mode: 0o600 });
    spawnSync("chown", ["mysql:mysql", path.join(dir, "server.key")]);
    const install = spawnSync(
      "mariadb-install-db",
      [
        "--no-defaults",
        "--skip-test-db",
        "--user=mysql",
        `--datadir=${data}`,
        "--auth-root-authentication-method=socket",
      ],
      { encoding: "utf8" },
    );
    assert.equal(install.status, 0, install.stderr);
    const cnf = path.join(dir, "my.cnf");
    fs.writeFileSync(
      cnf,
      [
        "[mariadbd]",
        `datadir=${data}`,
        `socket=${dir}/mysqld.sock`,
        `pid-file=${dir}/mysqld.pid`,
        "bind-address=127.0.0.1",
        `port=${port}`,
        "skip-name-resolve",
        "require_secure_transport=ON",
        `ssl_cert=${dir}/server.crt`,
        `ssl_key=${dir}/server.key`,
        `ssl_ca=${dir}/root.pem`,
        "innodb_buffer_pool_size=16M",
        "",
      ].join("\n"),
    );
    db = spawn(
      "setpriv",
      ["--reuid=mysql", "--regid=mysql", "--init-groups", "/usr/sbin/mariadbd", `--defaults-file=${cnf}`],
      {
        stdio: "ignore",
      },
    );
    const admin = (sql: string) =>
      spawnSync("mariadb", ["--no-defaults", `--socket=${dir}/mysqld.sock`, "--user=root", "-NBe", sql], {
        encoding: "utf8",
      });
    for (let i = 0; i < 150 && admin("SELECT 1").status !== 0; i++)
      await new Promise((r) => setTimeout(r, 200));
    // the account of alice's jobs on this node, as lib renders it
    const job = mariadbJobAccount(
      { database: "shop", owner: ALICE, access: "readwrite", workerDataCenter: "dc2", address: "127.0.0.1" },
      "/CN=zeroroot issuing CA dc2",
    );
    const setup = admin(
      [
        "CREATE DATABASE shop",
        "CREATE TABLE shop.result (v INT)",
        // the owner's user account everywhere else, and the job account of alice's worker node
        "CREATE USER 'dc1/user/alice'@'%' REQUIRE SUBJECT '/CN=alice' AND ISSUER '/CN=zeroroot issuing CA dc1'",
        `CREATE USER ${job.account} ${job.require}`,
        "GRANT SELECT, INSERT ON shop.* TO 'dc1/user/alice'@'%'",
        `GRANT SELECT, INSERT ON shop.* TO ${job.account}`,
      ].join("; "),
    );
    assert.equal(setup.status, 0, setup.stderr);
  });

  after(async () => {
    const proc = db;
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("lets alice's job certificate of this node write as alice", () => {
    assert.deepEqual(writeAs(jobFiles("alice-here", ALICE, "127.0.0.1")), { ok: true, out: "1" });
  });

  const refused: [string, () => { cert: string; key: string }, RegExp][] = [
    [
      "alice's job certificate of another node (taken here)",
      () => jobFiles("alice-there", ALICE, "127.0.0.2"),
      /ERROR 1045/,
    ],
    ["bob's job certificate asking to be alice", () => jobFiles("bob-here", BOB, "127.0.0.1"), /ERROR 1045/],
    [
      "the same subject from another data center's CA",
      () => jobFiles("alice-dc3", ALICE, "127.0.0.1", 0, dc3, "c01.dc3.zeroroot.example"),
      /ERROR 1045/,
    ],
    [
      "alice's expired job certificate",
      () => jobFiles("alice-old", ALICE, "127.0.0.1", 2 * 3600_000),
      /ERROR 2026 .*certificate expired|ERROR 2013 .*Lost connection/,
    ],
  ];
  for (const [what, make, match] of refused)
    it(`refuses ${what}`, () => {
      const r = writeAs(make());
      assert.equal(r.ok, false, r.out);
      assert.match(r.out, match);
    });
});
