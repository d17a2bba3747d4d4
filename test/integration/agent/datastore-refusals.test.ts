/**
 * The agent's reader of datastore refusals (agents/node/refusal-logs.ts's LogFollower and
 * lib/agent/datastore-refusals.ts) over the real logs of Debian's PostgreSQL 15 and MariaDB 10.11,
 * each started by the test with its stderr in a file as a partition's supervisord keeps it.
 * Certificate logins are refused there, then the file is read as the agent reads it. The agent's
 * loop itself (report.ts's sample pass) is not run: it only adds the log's path and the alert.
 * Needs root (the daemons run as `postgres` and `mysql`).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LogFollower } from "../../../agents/node/refusal-logs";
import { findRefusals, newRefusalMemory, type DatastoreRefusal } from "../../../lib/agent/datastore-refusals";
import { RefusalWindows } from "../../../lib/agent/refusal-windows";
import * as pki from "../../../lib/pki";
import { jobCertificateFiles } from "../../helpers/job-datastore";
import { canRunPostgres, JobPgServer } from "../compute/job-pg-server";
import { canRunMariadb, TlsMariadb } from "../compute/job-mariadb-server";

const ALICE = { dataCenter: "dc1", kind: "user" as const, name: "alice" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The log's refusals as the agent finds them, waiting up to 5 s for the daemon to write them. */
async function refusalsIn(follower: LogFollower, engine: "postgresql" | "mariadb", want: number) {
  const memory = newRefusalMemory();
  const found: DatastoreRefusal[] = [];
  for (let i = 0; i < 50 && found.length < want; i++) {
    found.push(...findRefusals(engine, follower.next(), memory));
    if (found.length < want) await sleep(100);
  }
  return found;
}

describe("datastore refusals read from a real PostgreSQL 15 log", function () {
  this.timeout(120_000);
  // the server's stderr in a file, as supervisord keeps it
  const server = new JobPgServer(true);
  let log = "";

  before(async function () {
    if (!canRunPostgres()) this.skip();
    // alice's jobs are accepted from 127.0.0.1 only
    await server.start([
      { database: "analytics", owner: ALICE, access: "read", workerDataCenter: "dc2", address: "127.0.0.1" },
    ]);
    log = server.logFile;
  });

  after(async () => {
    await server.stop();
  });

  it("finds a job certificate taken to another node, with the role asked for and the client's address", async () => {
    const follower = new LogFollower(log);
    follower.next(); // the end of what the start wrote, as an agent first looking at it
    const r = server.psqlAs("alice", server.job("alice-there", ALICE, "127.0.0.3"));
    assert.equal(r.ok, false, r.out);
    const found = await refusalsIn(follower, "postgresql", 1);
    assert.deepEqual(
      found.map((f) => [f.engine, f.user, f.clientAddress, f.reason]),
      [["postgresql", "alice", "127.0.0.1", "certificate-authentication-failed"]],
      fs.readFileSync(log, "utf8"),
    );
    assert.match(found[0].line, /FATAL: {2}certificate authentication failed for user \\"alice\\"/);
  });

  it("escapes a hostile role name and reads no forged line from it", async () => {
    const follower = new LogFollower(log);
    follower.next();
    const files = server.job("alice-evil", ALICE, "127.0.0.3");
    const evil =
      'x"\u202e\n2026-01-01 00:00:00.000 UTC [1] FATAL:  certificate authentication failed for user "root"';
    const conninfo = `host=127.0.0.1 port=${server.port} dbname=analytics user='${evil.replace(/'/g, "\\'")}' sslmode=require sslcert=${files.cert} sslkey=${files.key}`;
    const r = spawnSync("psql", [conninfo, "-XAtc", "SELECT 1"], { encoding: "utf8" });
    assert.notEqual(r.status, 0);
    const found = await refusalsIn(follower, "postgresql", 1);
    await sleep(300);
    found.push(...findRefusals("postgresql", follower.next()));
    assert.deepEqual(
      found.map((f) => [f.user, f.clientAddress]),
      [['x\\"\\u202e', "127.0.0.1"]],
      fs.readFileSync(log, "utf8"),
    );
  });

  it("finds an expired certificate refused in the TLS handshake, with the client's address", async () => {
    const follower = new LogFollower(log);
    follower.next();
    const r = server.psqlAs("alice", server.job("alice-old", ALICE, "127.0.0.1", 2 * 3600_000));
    assert.equal(r.ok, false, r.out);
    const found = await refusalsIn(follower, "postgresql", 1);
    assert.deepEqual(
      found.map((f) => [f.user, f.clientAddress, f.reason]),
      [["", "127.0.0.1", "tls-certificate-refused"]],
      fs.readFileSync(log, "utf8"),
    );
  });

  it("makes one alert with a count of a burst of refusals of one pair", async () => {
    const follower = new LogFollower(log);
    follower.next();
    const files = server.job("alice-burst", ALICE, "127.0.0.3");
    for (let i = 0; i < 5; i++) assert.equal(server.psqlAs("alice", files).ok, false);
    const found = await refusalsIn(follower, "postgresql", 5);
    const alerts = new RefusalWindows().take("pg-1", found, Date.now());
    assert.deepEqual(
      alerts.map((a) => [a.refusal.user, a.refusal.clientAddress, a.count]),
      [["alice", "127.0.0.1", 5]],
    );
  });
});

describe("datastore refusals read from a real MariaDB 10.11 error log", function () {
  this.timeout(180_000);
  let server: TlsMariadb | undefined;
  let dir = "";
  let port = 0;
  const root = pki.createRootCa({ commonName: "zeroroot root CA" });
  const site = (() => {
    const key = pki.generateKeyPair();
    const cert = pki.issueFromCsr(
      root.ca,
      "issuing",
      pki.createCsr({ commonName: "zeroroot issuing CA dc2" }, key.privateKey),
      {
        nameScope: {
          dnsZones: ["dc2.zeroroot.example"],
          ipNetworks: ["127.0.0.0/8"],
          kinds: ["service", "job"],
        },
      },
    );
    return pki.loadCa(cert.certificatePem, pki.exportPkcs8(key.privateKey));
  })();
  before(async function () {
    if (!canRunMariadb()) this.skip();
    const srvKey = pki.generateKeyPair();
    const srv = pki.issueFromCsr(
      site,
      "service",
      pki.createCsr({ commonName: "galera.dc2.zeroroot.example" }, srvKey.privateKey),
      { ipAddresses: ["127.0.0.1"] },
    );
    // as the release runs it: no log-error, so the error log is stderr, kept by supervisord
    server = new TlsMariadb({
      prefix: "zr-refusals-db-",
      rootPem: root.certificatePem,
      chainPem: srv.certificatePem + site.certificatePem,
      keyPem: pki.exportPkcs8(srvKey.privateKey),
      keepLog: true,
    });
    dir = server.dir;
    await server.start();
    port = server.port;
    const admin = (sql: string) => server!.admin(sql);
    const setup = admin(
      "CREATE USER 'dc1/user/alice'@'%' REQUIRE SUBJECT '/O=127.0.0.1/CN=dc1.alice' AND ISSUER '/CN=zeroroot issuing CA dc2'",
    );
    assert.equal(setup.status, 0, setup.stderr);
  });

  after(async () => {
    await server?.stop();
  });

  it("finds a job certificate of another node refused, with the account asked for and the client's address", async () => {
    const log = path.join(dir, "mariadbd.log");
    const follower = new LogFollower(log);
    follower.next();
    const files = jobCertificateFiles(dir, "alice-there", {
      owner: ALICE,
      address: "127.0.0.3",
      hostname: "c01.dc2.zeroroot.example",
      signer: site,
    });
    const r = spawnSync(
      "mariadb",
      [
        "--no-defaults",
        "--protocol=TCP",
        "--host=127.0.0.1",
        `--port=${port}`,
        "--user=dc1/user/alice",
        `--ssl-ca=${path.join(dir, "root.pem")}`,
        `--ssl-cert=${files.cert}`,
        `--ssl-key=${files.key}`,
        "-NBe",
        "SELECT 1",
      ],
      { encoding: "utf8" },
    );
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stderr, /ERROR 1045/);
    const found = await refusalsIn(follower, "mariadb", 1);
    assert.deepEqual(
      found.map((f) => [f.engine, f.user, f.clientAddress, f.reason]),
      [["mariadb", "dc1/user/alice", "127.0.0.1", "access-denied"]],
      fs.readFileSync(log, "utf8"),
    );
  });
});
