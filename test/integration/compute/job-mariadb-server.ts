/**
 * A real MariaDB from Debian for integration tests of job certificates: TLS required, the server's
 * certificate from the test's hierarchy, bound to 127.0.0.1 on a free port, run as `mysql`, its
 * error log on stderr (as the release runs it: no log-error, supervisord keeps the stream) written
 * to `<dir>/mariadbd.log` when asked. Root administers it over the socket.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stopProcess } from "../../helpers/stop-process";
import { freePort } from "../../helpers/job-datastore";

export const canRunMariadb = (): boolean => process.getuid?.() === 0 && fs.existsSync("/usr/sbin/mariadbd");

export interface TlsMariadbOptions {
  /** Prefix of the temporary directory. */
  readonly prefix: string;
  readonly rootPem: string;
  /** The server's certificate and its issuing CA, PEM. */
  readonly chainPem: string;
  readonly keyPem: string | Buffer;
  /** Write the server's stderr (its error log) to `<dir>/mariadbd.log`. @default false */
  readonly keepLog?: boolean;
}

export class TlsMariadb {
  readonly dir: string;
  port = 0;
  private db?: ChildProcess;

  constructor(private readonly o: TlsMariadbOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), o.prefix));
  }

  get socket(): string {
    return path.join(this.dir, "run", "mysqld.sock");
  }
  get rootFile(): string {
    return path.join(this.dir, "root.pem");
  }
  get logFile(): string {
    return path.join(this.dir, "mariadbd.log");
  }

  /** SQL as root over the socket. */
  admin(sql: string) {
    return spawnSync("mariadb", ["--no-defaults", `--socket=${this.socket}`, "--user=root", "-NBe", sql], {
      encoding: "utf8",
    });
  }

  async start(): Promise<void> {
    const dir = this.dir;
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, "run"));
    spawnSync("chown", ["mysql:mysql", dir, path.join(dir, "run")]);
    this.port = await freePort();
    const data = path.join(dir, "data");
    fs.writeFileSync(this.rootFile, this.o.rootPem);
    fs.writeFileSync(path.join(dir, "server.crt"), this.o.chainPem);
    fs.writeFileSync(path.join(dir, "server.key"), this.o.keyPem, { mode: 0o600 });
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
        `socket=${this.socket}`,
        `pid-file=${dir}/mysqld.pid`,
        "bind-address=127.0.0.1",
        `port=${this.port}`,
        "skip-name-resolve",
        "require_secure_transport=ON",
        `ssl_cert=${dir}/server.crt`,
        `ssl_key=${dir}/server.key`,
        `ssl_ca=${this.rootFile}`,
        "innodb_buffer_pool_size=16M",
        "",
      ].join("\n"),
    );
    const fd = this.o.keepLog ? fs.openSync(this.logFile, "a", 0o640) : undefined;
    this.db = spawn(
      "setpriv",
      ["--reuid=mysql", "--regid=mysql", "--init-groups", "/usr/sbin/mariadbd", `--defaults-file=${cnf}`],
      { stdio: fd === undefined ? "ignore" : ["ignore", fd, fd] },
    );
    if (fd !== undefined) fs.closeSync(fd);
    for (let i = 0; i < 150 && this.admin("SELECT 1").status !== 0; i++)
      await new Promise((r) => setTimeout(r, 200));
  }

  async stop(): Promise<void> {
    if (this.db) await stopProcess(this.db, 30_000);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
