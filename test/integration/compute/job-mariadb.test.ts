/**
 * What a real MariaDB 10.11 makes of job certificates with the accounts the release makes: the
 * stack's `jobAccess` lines (lib/compute/job-access.ts) read by job_access.py and turned into SQL by
 * galera-access.py's own `job_statements`, run by python3 as on a server against the daemon. Per
 * worker node an account of the owner's identity at the node's address, REQUIRE SUBJECT
 * '/O=<address>/CN=<dc>.<user>' AND ISSUER '<worker data center's site CA>'; dropped when its line
 * goes. The node is 127.0.0.1. Needs root (mariadbd runs as `mysql`) and Debian's mariadb-server.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { formatJobAccessLine, mariadbJobAccount, type JobAccessEntry } from "../../../lib/compute/job-access";
import * as pki from "../../../lib/pki";
import { itRefuses, jobCertificateFiles, type ClientFiles } from "../../helpers/job-datastore";
import { canRunMariadb, TlsMariadb } from "./job-mariadb-server";

const ZONE = "dc2.zeroroot.example";
const HOST = `c01.${ZONE}`;
const ALICE = { dataCenter: "dc1", kind: "user" as const, name: "alice" };
const BOB = { dataCenter: "dc1", kind: "user" as const, name: "bob" };

/** The DN of dc2's site CA as MariaDB reads it: the galera service's jobIssuers parameter. */
const DC2_SITE_CA = "/CN=zeroroot issuing CA dc2";
const REPO = path.join(__dirname, "../../..");
const PY_PATH = ["lab/releases/mariadb-galera", "agents/crl", "agents/datastores"].map((d) =>
  path.join(REPO, d),
);
/** alice's worker nodes: this one and another. */
const JOBS: JobAccessEntry[] = ["127.0.0.1", "127.0.0.3"].map((address) => ({
  database: "shop",
  owner: ALICE,
  access: "readwrite",
  workerDataCenter: "dc2",
  address,
}));

function issuingCa(root: pki.CertificateAuthority, zone: string, cn: string): pki.CertificateAuthority {
  const key = pki.generateKeyPair();
  const cert = pki.issueFromCsr(root, "issuing", pki.createCsr({ commonName: cn }, key.privateKey), {
    nameScope: { dnsZones: [zone], ipNetworks: ["127.0.0.0/8"], kinds: ["computer", "service", "job"] },
  });
  return pki.loadCa(cert.certificatePem, pki.exportPkcs8(key.privateKey));
}

describe("job certificates at a real MariaDB 10.11 (an account per worker address, subject and issuer)", function () {
  this.timeout(180_000);
  let server: TlsMariadb | undefined;
  let dir: string;
  let port: number;
  const root = pki.createRootCa({ commonName: "zeroroot root CA" });
  const dc2 = issuingCa(root.ca, ZONE, "zeroroot issuing CA dc2");
  // another data center's CA that mints the same subject (a compromised site): ISSUER refuses it
  const dc3 = issuingCa(root.ca, "dc3.zeroroot.example", "zeroroot issuing CA dc3");

  const job = (
    name: string,
    owner: typeof ALICE,
    address: string,
    agoMs = 0,
    signer = dc2,
    hostname = HOST,
  ) => jobCertificateFiles(dir, name, { owner, address, hostname, signer, agoMs });

  /** galera-access.py's job_statements for `jobs`, run as the release runs them (its Db, over the socket). */
  function applyJobLines(jobs: readonly JobAccessEntry[]): { ok: boolean; out: string } {
    const py = `import importlib.util, json, sys
sys.path[:0] = ${JSON.stringify(PY_PATH)}
from job_access import parse_job_access
spec = importlib.util.spec_from_file_location("galera_access", ${JSON.stringify(path.join(PY_PATH[0], "galera-access.py"))})
ga = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ga)
grants = {("shop", "dc1/user/alice", "readwrite")}
conf = {"jobs": parse_job_access(sys.stdin.read(), "etc/job-access.txt", grants), "job-issuers": {"dc2": ${JSON.stringify(DC2_SITE_CA)}}}
db = ga.Db(sys.argv[1], "root")
db.run("\\n".join(ga.job_statements(conf, db)) + "\\n")`;
    const r = spawnSync("python3", ["-B", "-c", py, dir], {
      input: jobs.map(formatJobAccessLine).join("\n") + "\n",
      encoding: "utf8",
    });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
  }
  const admin = (sql: string) => server!.admin(sql);

  const client = (args: string[], sql: string) =>
    spawnSync(
      "mariadb",
      ["--no-defaults", "--protocol=TCP", "--host=127.0.0.1", `--port=${port}`, ...args, "-NBe", sql],
      {
        encoding: "utf8",
      },
    );

  function writeAs(files: ClientFiles): { ok: boolean; out: string } {
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
    if (!canRunMariadb()) this.skip();
    const srvKey = pki.generateKeyPair();
    const srv = pki.issueFromCsr(
      dc2,
      "service",
      pki.createCsr({ commonName: `galera.${ZONE}` }, srvKey.privateKey),
      {
        ipAddresses: ["127.0.0.1"],
      },
    );
    server = new TlsMariadb({
      prefix: "zr-jobdb-",
      rootPem: root.certificatePem,
      chainPem: srv.certificatePem + dc2.certificatePem,
      keyPem: pki.exportPkcs8(srvKey.privateKey),
    });
    dir = server.dir;
    await server.start();
    port = server.port;
    const setup = admin(
      [
        "CREATE DATABASE shop",
        "CREATE TABLE shop.result (v INT)",
        // the owner's user account everywhere else (galera-access.py's statements make it from access.txt)
        "CREATE USER 'dc1/user/alice'@'%' REQUIRE SUBJECT '/CN=alice' AND ISSUER '/CN=zeroroot issuing CA dc1'",
        "GRANT SELECT, INSERT ON shop.* TO 'dc1/user/alice'@'%'",
      ].join("; "),
    );
    assert.equal(setup.status, 0, setup.stderr);
    const applied = applyJobLines(JOBS);
    assert.ok(applied.ok, applied.out);
  });

  after(async () => {
    await server?.stop();
  });

  const jobAccounts = () =>
    admin(
      "SELECT User, Host, JSON_VALUE(Priv, '$.x509_subject'), JSON_VALUE(Priv, '$.x509_issuer') FROM mysql.global_priv WHERE Host <> '%' AND User LIKE 'dc1/user/%' ORDER BY Host",
    )
      .stdout.trim()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split("\t"));

  it("makes one account per worker node, requiring what lib renders (subject, the worker data center's site CA)", () => {
    const expected = JOBS.map((e) => {
      const a = mariadbJobAccount(e, DC2_SITE_CA);
      assert.equal(a.account, `'dc1/user/alice'@'${e.address}'`);
      return ["dc1/user/alice", e.address, `/O=${e.address}/CN=dc1.alice`, DC2_SITE_CA, a.require];
    });
    assert.deepEqual(
      jobAccounts(),
      expected.map((x) => x.slice(0, 4)),
    );
    for (const x of expected) assert.equal(x[4], `REQUIRE SUBJECT '${x[2]}' AND ISSUER '${x[3]}'`);
  });

  it("lets alice's job certificate of this node write as alice", () => {
    assert.deepEqual(writeAs(job("alice-here", ALICE, "127.0.0.1")), { ok: true, out: "1" });
  });

  itRefuses<ClientFiles>(
    [
      [
        "alice's job certificate of another node (taken here)",
        () => job("alice-there", ALICE, "127.0.0.3"),
        /ERROR 1045/,
      ],
      ["bob's job certificate asking to be alice", () => job("bob-here", BOB, "127.0.0.1"), /ERROR 1045/],
      [
        "the same subject from another data center's CA",
        () => job("alice-dc3", ALICE, "127.0.0.1", 0, dc3, "c01.dc3.zeroroot.example"),
        /ERROR 1045/,
      ],
      [
        "alice's expired job certificate",
        () => job("alice-old", ALICE, "127.0.0.1", 2 * 3600_000),
        /ERROR 2026 .*certificate expired|ERROR 2013 .*Lost connection/,
      ],
    ],
    writeAs,
  );

  it("drops the node's account when its line goes, and keeps the others and the user's", () => {
    const files = job("alice-before", ALICE, "127.0.0.1");
    assert.equal(writeAs(files).ok, true);
    const applied = applyJobLines(JOBS.filter((e) => e.address !== "127.0.0.1"));
    assert.ok(applied.ok, applied.out);
    assert.deepEqual(
      jobAccounts().map((r) => r[1]),
      ["127.0.0.3"],
    );
    const after = writeAs(files);
    assert.equal(after.ok, false, after.out);
    assert.match(after.out, /ERROR 1045/);
    assert.equal(
      admin("SELECT count(*) FROM mysql.global_priv WHERE User='dc1/user/alice' AND Host='%'").stdout.trim(),
      "1",
    );
  });
});
