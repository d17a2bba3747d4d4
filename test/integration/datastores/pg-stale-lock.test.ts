/**
 * PostgreSQL comes back after a power cut whatever PIDs its old lock files name
 * (lab/releases/postgresql/pg_lock.py, called by pg-start.py before it becomes postgres).
 *
 * A node's PID namespace hands the same few PIDs out on every boot, so postmaster.pid often names a
 * live process of the partition user (pg-access.py). Debian's real PostgreSQL 15 is run here as
 * `postgres`: killed with SIGKILL, its lock files rewritten to name a live `postgres` process, it is
 * first shown to refuse to start (the failure the lab's CI hit), then to start once pg_lock ran.
 * A running server's lock files are never removed. Needs root and postgresql-15.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AS_POSTGRES, BIN, canRunPostgres } from "../compute/job-pg-server";

const MODULE_DIR = join(__dirname, "../../../lab/releases/postgresql");
const PORT = 5432;

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  assert.ok(line, "no postgres user");
  const f = line.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

describe("PostgreSQL's stale lock files after a power cut (pg_lock.py, real postgres)", function () {
  this.timeout(120_000);
  let dir = "";
  let data = "";
  let run = "";
  let server: ChildProcess | undefined;
  let bystander: ChildProcess | undefined;

  before(function () {
    if (!canRunPostgres()) this.skip();
    dir = mkdtempSync(join(tmpdir(), "zr-pglock-"));
    data = join(dir, "data");
    run = join(dir, "run");
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
    mkdirSync(run, { mode: 0o700 });
    chownSync(run, uid, gid);
    const init = spawnSync(
      "setpriv",
      [...AS_POSTGRES, `${BIN}/initdb`, "-D", data, "-U", "postgres", "--auth=peer"],
      {
        encoding: "utf8",
      },
    );
    assert.equal(init.status, 0, init.stderr);
  });

  after(() => {
    server?.kill("SIGKILL");
    bystander?.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const postgresArgs = () => [
    ...AS_POSTGRES,
    `${BIN}/postgres`,
    "-D",
    data,
    "-c",
    `unix_socket_directories=${run}`,
    "-c",
    "listen_addresses=",
    "-p",
    String(PORT),
  ];

  async function startServer(): Promise<ChildProcess> {
    const child = spawn("setpriv", postgresArgs(), { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      if (spawnSync(`${BIN}/pg_isready`, ["-h", run, "-p", String(PORT)]).status === 0) return child;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("postgres did not accept connections within 10 s");
  }

  function clearStaleLocks(): { removed: string[]; log: string } {
    const code =
      "import json, sys; sys.path.insert(0, sys.argv[1]); import pg_lock; " +
      "print(json.dumps(pg_lock.clear_stale_locks(sys.argv[2], sys.argv[3], lambda m: print(m, file=sys.stderr))))";
    const r = spawnSync(
      "setpriv",
      [...AS_POSTGRES, "/usr/bin/python3", "-I", "-c", code, MODULE_DIR, data, run],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    return { removed: JSON.parse(r.stdout) as string[], log: r.stderr };
  }

  /** Processes working in the data directory: the postmaster and its backends. */
  function serverProcesses(): number[] {
    return readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .filter((e) => {
        try {
          return readlinkSync(`/proc/${e}/cwd`) === data;
        } catch {
          return false;
        }
      })
      .map(Number);
  }

  function nameInLockFiles(pid: number) {
    for (const file of [join(data, "postmaster.pid"), join(run, `.s.PGSQL.${PORT}.lock`)]) {
      const lines = readFileSync(file, "utf8").split("\n");
      lines[0] = String(pid);
      writeFileSync(file, lines.join("\n"));
    }
  }

  it("keeps a running server's lock files, and the server keeps answering", async () => {
    server = await startServer();
    const { removed, log } = clearStaleLocks();
    assert.deepEqual(removed, []);
    assert.match(log, /lock files kept: processes \[/);
    assert.ok(existsSync(join(data, "postmaster.pid")));
    assert.ok(existsSync(join(run, `.s.PGSQL.${PORT}.lock`)));
    assert.equal(spawnSync(`${BIN}/pg_isready`, ["-h", run, "-p", String(PORT)]).status, 0);
  });

  it("after SIGKILL, with the lock files naming a live process of the same user: postgres refuses, and starts once pg_lock ran", async () => {
    assert.ok(server, "the previous case started the server");
    server.kill("SIGKILL");
    for (let i = 0; i < 100 && serverProcesses().length > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(serverProcesses(), [], "the backends followed their postmaster");
    // what a fresh PID namespace does: the old postmaster's PID now belongs to another program of the user
    bystander = spawn("setpriv", [...AS_POSTGRES, "sleep", "300"], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 200));
    const sleeper = Number(
      spawnSync("pgrep", ["-u", "postgres", "-x", "sleep"], { encoding: "utf8" })
        .stdout.trim()
        .split("\n")[0],
    );
    assert.ok(sleeper > 0, "a live postgres-owned process");
    nameInLockFiles(sleeper);

    const refused = spawnSync("setpriv", postgresArgs(), { encoding: "utf8", timeout: 20_000 });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /lock file "postmaster.pid" already exists/);

    const { removed, log } = clearStaleLocks();
    assert.deepEqual(
      removed.sort(),
      [join(data, "postmaster.pid"), join(run, `.s.PGSQL.${PORT}.lock`)].sort(),
    );
    assert.match(log, /removed lock files left by a server that no longer runs/);
    server = await startServer();
    const q = spawnSync(
      "setpriv",
      [...AS_POSTGRES, `${BIN}/psql`, "-h", run, "-p", String(PORT), "-d", "postgres", "-tAc", "select 1"],
      {
        encoding: "utf8",
      },
    );
    assert.equal(q.stdout.trim(), "1", q.stderr);
  });

  it("after a clean shutdown there is nothing to remove", async () => {
    assert.ok(server, "the previous case started the server");
    server.kill("SIGINT");
    for (let i = 0; i < 100 && existsSync(join(data, "postmaster.pid")); i++)
      await new Promise((r) => setTimeout(r, 100));
    server = undefined;
    assert.deepEqual(clearStaleLocks().removed, []);
  });
});
