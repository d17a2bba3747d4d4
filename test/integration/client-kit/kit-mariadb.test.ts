/**
 * The mariadb and python kits against a real MariaDB 10.11 that requires TLS and maps users by
 * REQUIRE SUBJECT/ISSUER, with no password (LAB-NOTES "Datastores with certificates"). The server runs
 * as `nobody`; the clients run the kit's command and pymysql arguments as written, inside a private
 * mount namespace whose /etc/hosts names s02.dc1.zeroroot.example (no DNS here), so
 * ssl-verify-server-cert checks the real host name.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { FD, runCli } from "../../helpers/cli";
import * as pki from "../../../lib/pki";
import { hierarchy, stackDir, tempDir, type Hierarchy } from "../../unit/client-kit/fixture";
import { galeraReleaseVersion } from "../../../lab/releases/mariadb-galera/release";
import { EXAMPLE_PACKAGE_VERSIONS } from "../../../scripts/example-releases";

/** The example Galera release (releases/), whichever revision scripts/example-releases.ts signed. */
const GALERA_REF = `mariadb-galera@${galeraReleaseVersion(EXAMPLE_PACKAGE_VERSIONS["mariadb-server"])}`;

const HOST = "s02.dc1.zeroroot.example";

function run(cmd: string, args: string[], opts: { asNobody?: boolean } = {}) {
  const [c, a] = opts.asNobody ? ["runuser", ["-u", "nobody", "--", cmd, ...args]] : [cmd, args];
  const r = spawnSync(c, a, { encoding: "utf8", timeout: 60_000 });
  return { status: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** `script` (sh) in a mount namespace where /etc/hosts maps HOST to 127.0.0.1. */
function withHostName(script: string, args: string[] = []) {
  const hosts = path.join(tempDir("hosts"), "hosts");
  fs.writeFileSync(hosts, `127.0.0.1 ${HOST}\n`);
  return run("unshare", [
    "--mount",
    "sh",
    "-c",
    `mount --bind ${hosts} /etc/hosts && ${script}`,
    "sh",
    ...args,
  ]);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe("client kit with the mariadb client and pymysql against MariaDB", function () {
  this.timeout(180_000);
  let h: Hierarchy;
  let out: string;
  let server: ChildProcess | undefined;
  let serverDir: string | undefined;

  before(async () => {
    h = hierarchy("mariadb kit");
    const port = await freePort();
    const stacks = stackDir(h.rootPem);
    const dc1 = path.join(stacks, "Pulumi.dc1.yaml");
    const service = `    - name: mariadb\n      release: ${GALERA_REF}\n      placement: { servers: [dc1-s02] }\n      holdsData: true\n      minimumPersistence: 30d\n      endpoints:\n        - { port: ${port}, tls: true, requireClientCertificate: true }\n`;
    const grant = `    - service: mariadb\n      database: analytics\n      grants:\n        - { user: dc1/user/alice, access: readwrite }\n`;
    const text = fs.readFileSync(dc1, "utf8");
    fs.writeFileSync(
      dc1,
      `${text.replace("  zeroroot:dataAccess:\n", `${service}  zeroroot:dataAccess:\n`)}${grant}`,
    );
    const work = tempDir("mariadb");
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
        "mariadb,python",
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
      { fd: "unused\n" },
    );
    assert.equal(r.code, 0, r.err);
    serverDir = tempDir("mariadbd");
    server = await startMariadb(h, port, serverDir);
  });

  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once("exit", resolve));
      server.kill("SIGTERM"); // runuser passes it on; mariadbd shuts down cleanly
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    }
    if (serverDir) fs.rmSync(serverDir, { recursive: true, force: true });
  });

  it("the mariadb client logs in as alice with the kit's command, unchanged, and writes", () => {
    const command = kitSet("mariadb").command as string;
    assert.match(
      command,
      new RegExp(
        `^mariadb --defaults-extra-file=\\S+alice\\.cnf --host=${HOST.replace(/\./g, "\\.")} --port=\\d+ analytics$`,
      ),
    );
    const r = withHostName(
      `${command} -Nse "create table if not exists t(v int); insert into t values (1); select current_user(), count(*) from t"`,
    );
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^alice@%\t\d+$/m);
  });

  it("pymysql logs in with the python kit's arguments, verifying the server's certificate and host name", () => {
    const args = JSON.stringify(kitSet("python").pymysql);
    const py = `import json,pymysql,sys\nc=pymysql.connect(**json.loads(sys.argv[1]))\ncur=c.cursor();cur.execute("select current_user()");print(cur.fetchone()[0])`;
    const r = withHostName(`/usr/bin/python3 -c '${py}' "$1"`, [args]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^alice@%$/m);
  });

  it("the same command without the kit's option file is refused", () => {
    const command = (kitSet("mariadb").command as string).replace(/--defaults-extra-file=\S+ /, "");
    const r = withHostName(`${command} --user=alice -Nse "select 1"`);
    assert.notEqual(r.status, 0);
    assert.match(r.out, /ERROR (1045|2026)/);
  });

  function kitSet(target: string): Record<string, unknown> {
    const sets = JSON.parse(fs.readFileSync(path.join(out, target, "connections.json"), "utf8")) as Record<
      string,
      unknown
    >[];
    const set = sets.find((s) => s.engine === "mariadb");
    assert.ok(set, `no mariadb data set in the ${target} kit`);
    return set;
  }
});

/** MariaDB as nobody: TLS required, a dc1 service certificate, alice by subject and issuer only. */
async function startMariadb(h: Hierarchy, port: number, dir: string): Promise<ChildProcess> {
  const keys = pki.generateKeyPair("ec-p256");
  const csr = pki.createCsr({ commonName: HOST, dnsNames: [HOST] }, keys.privateKey);
  const cert = pki.issueFromCsr(h.dcs.dc1.ca, "service", csr, { commonName: HOST, dnsNames: [HOST] });
  const issuingPem = h.dcs.dc1.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0];
  fs.writeFileSync(path.join(dir, "server.crt"), cert.certificatePem + issuingPem);
  fs.writeFileSync(path.join(dir, "server.key"), pki.exportPkcs8(keys.privateKey), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "ca.pem"), h.dcs.dc1.chainPem);
  const data = path.join(dir, "data");
  const cnf = path.join(dir, "my.cnf");
  fs.writeFileSync(
    cnf,
    [
      "[mariadbd]",
      `datadir=${data}`,
      `socket=${path.join(dir, "sock")}`,
      `port=${port}`,
      "bind-address=127.0.0.1",
      "skip-name-resolve",
      `ssl_cert=${path.join(dir, "server.crt")}`,
      `ssl_key=${path.join(dir, "server.key")}`,
      `ssl_ca=${path.join(dir, "ca.pem")}`,
      "require_secure_transport=ON",
      "innodb_buffer_pool_size=16M",
      "",
    ].join("\n"),
  );
  run("chown", ["-R", "nobody:nogroup", dir]);
  fs.chmodSync(dir, 0o755);
  const init = run("mariadb-install-db", [
    "--no-defaults",
    "--skip-test-db",
    "--user=nobody",
    `--datadir=${data}`,
    "--auth-root-authentication-method=socket",
  ]);
  assert.equal(init.status, 0, init.out);
  const child = spawn("runuser", ["-u", "nobody", "--", "/usr/sbin/mariadbd", `--defaults-file=${cnf}`], {
    stdio: "ignore",
  });
  const sock = path.join(dir, "sock");
  for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 200));
  const issuer = `/CN=${pki.parseCertificate(issuingPem).commonName}`;
  const sql = `CREATE USER 'alice'@'%' REQUIRE SUBJECT '/CN=alice' AND ISSUER '${issuer}'; CREATE DATABASE analytics; GRANT ALL ON analytics.* TO 'alice'@'%';`;
  const setup = run("mariadb", ["--no-defaults", `--socket=${sock}`, "-u", "nobody", "-e", sql], {
    asNobody: true,
  });
  assert.equal(setup.status, 0, setup.out);
  return child;
}
