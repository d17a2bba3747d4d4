/**
 * One supervisord per service user on a management server, as the nodes run their agents: it is
 * started as that user with setpriv (no capabilities, no new privileges) in the service's network
 * namespace, runs one program, restarts it when it dies and reaps it (no zombie parents), and gives
 * up after a bounded number of quick failures (state FATAL), which `lab status` reports. Driven over
 * XML-RPC on its unix socket (agents/node/supervisor.ts) — the socket is 0700, owned by the user;
 * only that user and root reach it. Decisions: docs/lab.md, "Self-healing of the site services".
 */
import { spawnSync } from "node:child_process";
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Supervisor, SupervisorError } from "../../agents/node/supervisor";
import { processAlive } from "./procscan";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface SupervisedProgram {
  /** Program name as supervisord knows it ([a-z0-9-]). */
  readonly name: string;
  /** supervisord's own folder: configuration, socket, pid file, its log. Made 0700, owned by `uid`. */
  readonly dir: string;
  /** The service user (uid = gid). */
  readonly uid: number;
  /** Network namespace the supervisor, hence the program, runs in. */
  readonly namespace: string;
  /** argv of the program, no shell. */
  readonly argv: readonly string[];
  /** The program's whole environment (supervisord itself starts with `env -i`). */
  readonly env: Readonly<Record<string, string>>;
  /** stdout and stderr of the program, appended; created owned by `uid` if absent. */
  readonly logFile: string;
  readonly cwd: string;
  /**
   * A start counts as failed when the program exits before this many seconds; failed starts are
   * retried after 1, 2, 3… s (supervisord's backoff) up to `startRetries`, then the program is FATAL.
   * A program that ran longer and died is restarted at once. @default 5
   */
  readonly startSecs?: number;
  /** @default 5 */
  readonly startRetries?: number;
  /** Seconds between SIGTERM and SIGKILL when stopped. @default 10 */
  readonly stopWaitSecs?: number;
}

/** supervisord splits `command=` like a POSIX shell and interpolates %(x)s: quote every word. */
function word(s: string): string {
  if (/[\r\n]/.test(s)) throw new Error(`supervised argument ${JSON.stringify(s)} spans lines`);
  return `'${s.replace(/%/g, "%%").replace(/'/g, `'"'"'`)}'`;
}

const envValue = (s: string) => `"${s.replace(/%/g, "%%").replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

export const socketOf = (dir: string) => join(dir, "supervisor.sock");
const pidFileOf = (dir: string) => join(dir, "supervisord.pid");
const confOf = (dir: string) => join(dir, "supervisord.conf");

export function renderSupervisorConf(p: SupervisedProgram): string {
  return [
    `; zeroroot lab: supervisord of ${p.name}, uid ${p.uid}, started without capabilities (lab/supervise)`,
    "[unix_http_server]",
    `file=${socketOf(p.dir)}`,
    "chmod=0700",
    "",
    "[supervisord]",
    `logfile=${join(p.dir, "supervisord.log")}`,
    "logfile_maxbytes=1MB",
    "logfile_backups=1",
    `pidfile=${pidFileOf(p.dir)}`,
    `childlogdir=${p.dir}`,
    `directory=${p.cwd}`,
    "umask=027",
    "",
    "[rpcinterface:supervisor]",
    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    "",
    `[program:${p.name}]`,
    `command=${p.argv.map(word).join(" ")}`,
    `directory=${p.cwd}`,
    "autostart=true",
    "autorestart=true",
    `startsecs=${p.startSecs ?? 5}`,
    `startretries=${p.startRetries ?? 5}`,
    "stopsignal=TERM",
    `stopwaitsecs=${p.stopWaitSecs ?? 10}`,
    "stopasgroup=true",
    "killasgroup=true",
    "redirect_stderr=true",
    `stdout_logfile=${p.logFile}`,
    // The file is made by the lab in a folder of root's: it cannot be rotated (renamed) by the user.
    "stdout_logfile_maxbytes=0",
    `environment=${Object.entries(p.env)
      .map(([k, v]) => `${k}=${envValue(v)}`)
      .join(",")}`,
    "",
  ].join("\n");
}

/** The pid of a live supervisord of `dir`, or undefined. */
export function supervisorPid(dir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(pidFileOf(dir), "utf8");
  } catch (e) {
    // none, or removed by a supervisord exiting between a check and the read (seen when lab up
    // restarted a site's supervisor): no live supervisord either way
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const pid = Number(text.trim());
  // The pid must still be a supervisord of this folder (a recycled pid may be anyone's).
  return Number.isInteger(pid) && pid > 1 && processAlive(pid, confOf(dir)) ? pid : undefined;
}

export const supervisorOf = (dir: string, timeoutMs = 5000) => new Supervisor(socketOf(dir), timeoutMs);

/**
 * Starts the supervisor of `p` unless one runs with the same configuration; one that runs with
 * another configuration is shut down first (its program stops) and started again. Returns whether
 * it (re)started the supervisor.
 */
export async function ensureSupervised(p: SupervisedProgram): Promise<boolean> {
  const conf = renderSupervisorConf(p);
  const running = supervisorPid(p.dir);
  if (running && existsSync(confOf(p.dir)) && readFileSync(confOf(p.dir), "utf8") === conf) return false;
  if (running) await shutdownSupervisor(p.dir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  chownSync(p.dir, p.uid, p.uid);
  writeFileSync(confOf(p.dir), conf, { mode: 0o600 });
  chownSync(confOf(p.dir), p.uid, p.uid);
  if (!existsSync(p.logFile)) writeFileSync(p.logFile, "", { mode: 0o640 });
  chownSync(p.logFile, p.uid, p.uid);
  const out = openSync(join(p.dir, "start.log"), "a", 0o600);
  // supervisord daemonizes once its socket is bound: a configuration or socket error is its exit code.
  const r = spawnSync(
    "ip",
    [
      "netns",
      "exec",
      p.namespace,
      "setpriv",
      `--reuid=${p.uid}`,
      `--regid=${p.uid}`,
      "--clear-groups",
      "--no-new-privs",
      "--inh-caps=-all",
      "--bounding-set=-all",
      "env",
      "-i",
      `PATH=${PATH}`,
      "LANG=C.UTF-8",
      `HOME=${p.dir}`,
      "supervisord",
      "-c",
      confOf(p.dir),
    ],
    { stdio: ["ignore", out, out], timeout: 30_000 },
  );
  closeSync(out);
  if (r.status !== 0)
    throw new Error(
      `${p.name}: supervisord did not start (exit ${r.status ?? r.signal}); see ${join(p.dir, "start.log")} and ${join(p.dir, "supervisord.log")}`,
    );
  await waitAnswering(p.dir, 15_000);
  return true;
}

async function waitAnswering(dir: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await supervisorOf(dir, 2000).call("supervisor.getState");
      return;
    } catch (e) {
      if (Date.now() > end) throw new Error(`supervisord of ${dir} does not answer: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** What supervisord says of the program, or that nothing supervises it. */
export interface ProgramState {
  /** STOPPED, STARTING, RUNNING, BACKOFF, STOPPING, EXITED, FATAL, UNKNOWN, or NO-SUPERVISOR. */
  readonly state: string;
  readonly pid?: number;
  /** supervisord's description ("pid 123, uptime 0:00:05", "Exited too quickly (process log may have details)"). */
  readonly description?: string;
  readonly since?: string;
}

export async function programState(dir: string, name: string): Promise<ProgramState> {
  try {
    const i = (await supervisorOf(dir, 3000).call("supervisor.getProcessInfo", name)) as Record<
      string,
      string | number
    >;
    const pid = Number(i.pid);
    return {
      state: String(i.statename),
      pid: pid > 0 ? pid : undefined,
      description: String(i.description ?? ""),
      since: Number(i.start) > 0 ? new Date(Number(i.start) * 1000).toISOString() : undefined,
    };
  } catch (e) {
    return { state: "NO-SUPERVISOR", description: (e as Error).message };
  }
}

/** Stops the program (it stays stopped: no restart) and waits. Idempotent. */
export async function stopProgram(dir: string, name: string): Promise<void> {
  try {
    await supervisorOf(dir, 30_000).call("supervisor.stopProcess", name, true);
  } catch (e) {
    // NOT_RUNNING (70): already stopped; no supervisor: nothing to stop through it.
    if (e instanceof SupervisorError && e.faultCode !== undefined && e.faultCode !== 70) throw e;
  }
}

/** Starts a stopped (or FATAL) program again through its running supervisor. */
export async function startProgram(dir: string, name: string): Promise<void> {
  try {
    await supervisorOf(dir, 30_000).call("supervisor.startProcess", name, false);
  } catch (e) {
    // ALREADY_STARTED (60)
    if (!(e instanceof SupervisorError) || e.faultCode !== 60) throw e;
  }
}

/** Stops the program and its supervisor, and waits until the supervisor is gone. Idempotent. */
export async function shutdownSupervisor(dir: string, timeoutMs = 20_000): Promise<void> {
  const pid = supervisorPid(dir);
  if (!pid) return;
  // SIGTERM makes supervisord stop its program (TERM, then KILL after stopwaitsecs) and exit.
  process.kill(pid, "SIGTERM");
  const end = Date.now() + timeoutMs;
  while (supervisorPid(dir) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  if (supervisorPid(dir)) {
    process.kill(pid, "SIGKILL");
    while (supervisorPid(dir)) await new Promise((r) => setTimeout(r, 50));
  }
}
