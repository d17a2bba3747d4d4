/**
 * The kit held against the real tools: openssl reads and verifies what it writes, keytool lists the
 * PKCS#12 stores, and psql, psycopg2 and pgjdbc (Debian's) log in to a real PostgreSQL 15 that
 * accepts certificates only, with the kit's connection strings as written. The server runs as
 * `nobody`; its only name is s01.dc1.zeroroot.example, reached through libpq's hostaddr and Java's
 * jdk.net.hosts.file (no DNS here), so verify-full checks the real host name.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { FD, runCli } from "../../helpers/cli";
import * as pki from "../../../lib/pki";
import { hierarchy, stackDir, tempDir, type Hierarchy } from "../../unit/client-kit/fixture";

const PG = "/usr/lib/postgresql/15/bin";
const HOST = "s01.dc1.zeroroot.example";
const PASSWORD = "real-clients-keystore-pw";

function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; asNobody?: boolean } = {},
) {
  const [c, a] = opts.asNobody ? ["runuser", ["-u", "nobody", "--", cmd, ...args]] : [cmd, args];
  const r = spawnSync(c, a, {
    encoding: "utf8",
    input: opts.input,
    env: opts.env ?? process.env,
    timeout: 60_000,
  });
  return { status: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe("client kit with openssl, keytool, psql, psycopg2 and pgjdbc", function () {
  this.timeout(180_000);
  let h: Hierarchy;
  let out: string;
  let server: string;
  let port: number;
  let started = false;

  before(async () => {
    h = hierarchy("real clients");
    port = await freePort();
    // The example dc1 stack with PostgreSQL on one server, listening on this test's port.
    const stacks = stackDir(h.rootPem);
    const dc1 = path.join(stacks, "Pulumi.dc1.yaml");
    fs.writeFileSync(
      dc1,
      fs
        .readFileSync(dc1, "utf8")
        .replace("placement: { role: storage }", "placement: { servers: [dc1-s01] }")
        .replace("port: 5432,", `port: ${port},`),
    );
    const work = tempDir("real");
    out = path.join(work, "kit");
    assert.equal((await runCli(["client", "kit", "--user", "alice", "--dc", "dc1", "--out", out])).code, 0);
    const cert = path.join(work, "alice.crt");
    fs.writeFileSync(
      cert,
      pki.issueFromCsr(h.dcs.dc1.ca, "user", fs.readFileSync(path.join(out, "alice.csr"))).certificatePem,
    );
    const chain = path.join(work, "chain.pem");
    fs.writeFileSync(chain, h.dcs.dc1.chainPem);
    const r = await runCli(
      [
        "client",
        "kit",
        "--user",
        "alice",
        "--dc",
        "dc1",
        "--for",
        "psql,jdbc,python",
        "--out",
        out,
        "--cert",
        cert,
        "--chain",
        chain,
        "--stacks",
        stacks,
        "--passphrase-fd",
        FD,
      ],
      { fd: `${PASSWORD}\n` },
    );
    assert.equal(r.code, 0, r.err);
    server = tempDir("pg");
    started = true; // from here on, after() stops whatever startPostgres started
    await startPostgres(h, port, server);
  });

  after(() => {
    if (started && fs.existsSync(path.join(server, "data", "postmaster.pid")))
      run(`${PG}/pg_ctl`, ["-D", path.join(server, "data"), "-m", "immediate", "stop"], { asNobody: true });
    fs.rmSync(server, { recursive: true, force: true }); // the cluster's files (tens of MB)
  });

  it("openssl verifies the chain for client authentication, reads the DER PKCS#8 key and matches it to the certificate", () => {
    const kit = path.join(out, "jdbc");
    const v = run("openssl", [
      "verify",
      "-purpose",
      "sslclient",
      "-CAfile",
      path.join(kit, "root.crt"),
      "-untrusted",
      path.join(kit, "alice.crt"),
      path.join(kit, "alice.crt"),
    ]);
    assert.equal(v.status, 0, v.out);
    assert.equal(
      run("openssl", ["pkey", "-inform", "DER", "-in", path.join(kit, "alice.pk8"), "-noout"]).status,
      0,
    );
    const fromCert = run("sh", [
      "-c",
      `openssl x509 -in ${path.join(kit, "alice.crt")} -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum`,
    ]).out;
    const fromKey = run("sh", [
      "-c",
      `openssl pkey -inform DER -in ${path.join(kit, "alice.pk8")} -pubout -outform DER | sha256sum`,
    ]).out;
    assert.equal(fromKey, fromCert);
    const pem = run("sh", [
      "-c",
      `openssl pkey -in ${path.join(out, "psql", "alice.key")} -pubout -outform DER | sha256sum`,
    ]).out;
    assert.equal(pem, fromCert);
  });

  it("keytool lists the keystore's key entry under alias user and the truststore's root", () => {
    const pw = path.join(tempDir("pw"), "pw");
    fs.writeFileSync(pw, PASSWORD, { mode: 0o600 }); // -storepass:file: the password never on a command line
    const ks = run("keytool", [
      "-list",
      "-storetype",
      "PKCS12",
      "-keystore",
      path.join(out, "jdbc", "keystore.p12"),
      "-storepass:file",
      pw,
    ]);
    assert.equal(ks.status, 0, ks.out);
    assert.match(ks.out, /^user, .*PrivateKeyEntry/m);
    const ts = run("keytool", [
      "-list",
      "-storetype",
      "PKCS12",
      "-keystore",
      path.join(out, "jdbc", "truststore.p12"),
      "-storepass:file",
      pw,
    ]);
    assert.match(ts.out, /trustedCertEntry/);
  });

  it("psql logs in as alice with the kit's connection string and reads and writes", () => {
    const conninfo = kitConnection("psql", "conninfo");
    const r = run("psql", [
      `${conninfo} hostaddr=127.0.0.1`,
      "-XAtc",
      "create table if not exists t(v text); insert into t values ('psql'); select current_user, count(*) from t",
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^alice\|\d+$/m);
  });

  it("psycopg2 logs in with the python kit's connection string", () => {
    const conninfo = kitConnection("python", "conninfo");
    const py = `import psycopg2,sys\nc=psycopg2.connect(sys.argv[1]+" hostaddr=127.0.0.1")\ncur=c.cursor();cur.execute("select current_user, ssl from pg_stat_ssl where pid=pg_backend_pid()");print(cur.fetchone())`;
    const r = run("/usr/bin/python3", ["-c", py, conninfo]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /\('alice', True\)/);
  });

  it("pgjdbc logs in with the jdbc kit's URL and its PKCS#8 DER key", () => {
    const url = kitConnection("jdbc", "jdbcUrl");
    const dir = tempDir("java");
    fs.writeFileSync(path.join(dir, "hosts"), `127.0.0.1 ${HOST}\n`);
    fs.writeFileSync(
      path.join(dir, "Connect.java"),
      `public class Connect { public static void main(String[] a) throws Exception {
  try (var c = java.sql.DriverManager.getConnection(a[0]); var s = c.createStatement();
       var r = s.executeQuery("select current_user, count(*) from t")) { r.next(); System.out.println(r.getString(1) + "|" + r.getInt(2)); } } }\n`,
    );
    const r = run("java", [
      `-Djdk.net.hosts.file=${path.join(dir, "hosts")}`,
      "-cp",
      "/usr/share/java/postgresql.jar",
      path.join(dir, "Connect.java"),
      url,
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^alice\|\d+$/m);
  });

  it("the same psql connection without the kit's certificate is refused", () => {
    const conninfo = kitConnection("psql", "conninfo").replace(/ sslcert=\S+ sslkey=\S+/, "");
    const r = run("psql", [`${conninfo} hostaddr=127.0.0.1`, "-XAtc", "select 1"]);
    assert.notEqual(r.status, 0);
    assert.match(r.out, /certificate/);
  });

  /** The first data set's `field` in the kit's connections.json (the strings users copy). */
  function kitConnection(target: string, field: string): string {
    const sets = JSON.parse(fs.readFileSync(path.join(out, target, "connections.json"), "utf8")) as Record<
      string,
      string
    >[];
    assert.equal(sets.length, 1);
    return sets[0][field];
  }
});

/** PostgreSQL 15 as nobody: TLS with a dc1 service certificate, pg_hba `hostssl ... cert` only. */
async function startPostgres(h: Hierarchy, port: number, dir: string): Promise<void> {
  const keys = pki.generateKeyPair("ec-p256");
  const csr = pki.createCsr({ commonName: HOST, dnsNames: [HOST] }, keys.privateKey);
  const cert = pki.issueFromCsr(h.dcs.dc1.ca, "service", csr, { commonName: HOST, dnsNames: [HOST] });
  fs.writeFileSync(
    path.join(dir, "server.crt"),
    cert.certificatePem + h.dcs.dc1.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0],
  );
  fs.writeFileSync(path.join(dir, "server.key"), pki.exportPkcs8(keys.privateKey), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "root.crt"), h.rootPem);
  fs.mkdirSync(path.join(dir, "sock"));
  run("chown", ["-R", "nobody:nogroup", dir]);
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, "data");
  const init = run(`${PG}/initdb`, ["-D", data, "-U", "nobody", "--auth-local=peer", "--auth-host=reject"], {
    asNobody: true,
  });
  assert.equal(init.status, 0, init.out);
  fs.writeFileSync(
    path.join(data, "pg_hba.conf"),
    "local all nobody peer\nhostssl all all 127.0.0.1/32 cert clientcert=verify-full map=certmap\n",
  );
  fs.writeFileSync(path.join(data, "pg_ident.conf"), "certmap alice alice\n");
  run("chown", ["nobody:nogroup", path.join(data, "pg_hba.conf"), path.join(data, "pg_ident.conf")]);
  const opts = [
    `-c port=${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${path.join(dir, "sock")}`,
    "-c ssl=on",
    `-c ssl_cert_file=${path.join(dir, "server.crt")}`,
    `-c ssl_key_file=${path.join(dir, "server.key")}`,
    `-c ssl_ca_file=${path.join(dir, "root.crt")}`,
  ].join(" ");
  const start = run(`${PG}/pg_ctl`, ["-D", data, "-l", path.join(dir, "log"), "-w", "-o", opts, "start"], {
    asNobody: true,
  });
  assert.equal(start.status, 0, start.out + fs.readFileSync(path.join(dir, "log"), "utf8"));
  const sql = ["create role alice login", "create database analytics owner alice"].flatMap((c) => ["-c", c]);
  const setup = run(
    "psql",
    ["-h", path.join(dir, "sock"), "-p", String(port), "-d", "postgres", "-XAt", ...sql],
    {
      asNobody: true,
    },
  );
  assert.equal(setup.status, 0, setup.out);
}
