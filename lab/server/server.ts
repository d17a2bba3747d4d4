/**
 * A lab server: its disk (a directory holding the installed root filesystem) booted inside its
 * network namespace, in fresh PID, mount, UTS and IPC namespaces, or its netboot installer (PXE).
 * `boot` returns once PID 1 is started (pass `wait` to wait for readiness); `halt` stops PID 1
 * gracefully (SIGTERM, then SIGKILL of the whole PID namespace) and leaves no process or mount:
 * every mount is made inside the server's private mount namespace, which dies with its last process.
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { IMAGE_PATHS } from "../../lib/hardening";
import { run, RunResult } from "../image/exec";
import { unpackImage } from "../image/build";
import { defaultLabDir, defaultNetns, ServerError, serverPaths } from "./paths";
import {
  alive,
  childrenOf,
  pidNamespace,
  processesInPidNamespace,
  processesRootedIn,
  readText,
  ServerProcess,
} from "./procfs";

export type BootDevice = "disk" | "pxe";

export interface LabServerOptions {
  /** @default - `$ZEROROOT_LAB_DIR` or `<repo>/.zeroroot/lab` */
  readonly labDir?: string;
}

export interface BootOptions extends LabServerOptions {
  readonly device: BootDevice;
  /** @default - `zr-<server>` (lab/net's naming) */
  readonly netns?: string;
  /** Wait until PID 1 reports ready (disk) or the installer has started (pxe). @default false */
  readonly wait?: boolean;
  /** @default 30000 */
  readonly timeoutMs?: number;
}

/** What the PXE path runs: the lab's stand-in for a netboot configuration served by provisioning. */
export interface NetbootConfig {
  /** argv of the installer, run as root in the server's namespaces with a clean environment. */
  readonly command: readonly string[];
  /** Extra environment (the netboot "kernel command line"); ZR_SERVER, ZR_DISK, ZR_NETNS are always set. */
  readonly env?: Readonly<Record<string, string>>;
}

interface ServerState {
  readonly server: string;
  readonly netns: string;
  readonly device: BootDevice;
  /** Host pid of `unshare` (parent of PID 1). */
  readonly unsharePid: number;
  /** Host pid of the server's PID 1. */
  readonly initPid: number;
  readonly pidNamespace: string;
  readonly bootedAt: string;
}

export interface ServerStatus {
  readonly server: string;
  readonly running: boolean;
  readonly device?: BootDevice;
  readonly netns?: string;
  /** Host pid of PID 1. */
  readonly pid?: number;
  readonly bootedAt?: string;
  /** Disk boot: PID 1 started every supervisord. */
  readonly ready: boolean;
  /** Disk boot: PID 1 refused to start services (e.g. the firewall could not be applied). */
  readonly failure?: string;
  /** PXE boot: the installer's exit code once it has finished. */
  readonly installerExitCode?: number;
  /** The disk holds an installed system (PID 1 present). */
  readonly diskInstalled: boolean;
}

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Prepares the root filesystem's kernel mounts inside the private mount namespace, then PID 1. */
const DISK_SCRIPT = `set -eu
R=$1; H=$2
hostname "$H"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
# Kernel-wide sysctls are the host's: read-only; the network ones belong to the server's netns.
mount --bind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
mount --bind "$R/proc/sys/net" "$R/proc/sys/net"
mount -o remount,bind,rw "$R/proc/sys/net"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t tmpfs -o nosuid,noexec,mode=0755,size=1m tmpfs "$R/dev"
for d in null zero full random urandom tty; do touch "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
mkdir -p "$R/dev/shm" "$R/dev/pts"
mount -t tmpfs -o nosuid,nodev,noexec,mode=1777 tmpfs "$R/dev/shm"
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs "$R/run"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$R/tmp"
exec env -i PATH=${PATH} LANG=C.UTF-8 chroot "$R" ${IMAGE_PATHS.init}
`;

/**
 * The PXE path: a fresh /proc, the installer with a clean environment (never echoed: the netboot
 * environment may carry the enrollment token), its exit code recorded; then the machine idles
 * (powered on, "install complete") until halted. The host's filesystem stays visible: the lab is
 * a test bed, not a security boundary.
 */
const PXE_SCRIPT = `set -u
EXITFILE=$1; H=$2; shift 2
hostname "$H"
mount -t proc -o nosuid,nodev,noexec proc /proc
rm -f "$EXITFILE"
"$@"
code=$?
echo "$code" >"$EXITFILE"
echo "pxe: installer exited with $code; idle until power off"
trap 'exit 0' TERM INT
while :; do sleep 1 & wait $!; done
`;

function readState(stateFile: string): ServerState | undefined {
  const text = readText(stateFile);
  if (!text) return undefined;
  const s = JSON.parse(text) as ServerState;
  // A recycled pid is not our server: the recorded PID namespace must still be the process's.
  return alive(s.initPid) && pidNamespace(s.initPid) === s.pidNamespace ? s : undefined;
}

/** True when the disk holds an installed system (PID 1 and its configuration). */
export function diskInstalled(server: string, opts: LabServerOptions = {}): boolean {
  const { disk } = serverPaths(server, opts.labDir);
  return existsSync(`${disk}${IMAGE_PATHS.init}`) && existsSync(`${disk}${IMAGE_PATHS.initConfig}`);
}

function netbootConfig(server: string, labDir: string): NetbootConfig {
  const p = serverPaths(server, labDir);
  const file = existsSync(p.netboot)
    ? p.netboot
    : existsSync(p.netbootDefault)
      ? p.netbootDefault
      : undefined;
  if (!file)
    throw new ServerError(
      `server ${server} has no netboot configuration: expected ${p.netboot} or ${p.netbootDefault} ({"command": [...], "env": {...}}); the provisioning set-up writes it`,
    );
  const cfg = JSON.parse(readFileSync(file, "utf8")) as NetbootConfig;
  if (
    !Array.isArray(cfg.command) ||
    cfg.command.length === 0 ||
    cfg.command.some((a) => typeof a !== "string")
  ) {
    throw new ServerError(`${file}: "command" must be a non-empty array of strings (the installer's argv)`);
  }
  return cfg;
}

/** Powers a server on: boots its disk or its netboot installer. Refuses when it already runs. */
export async function bootServer(server: string, opts: BootOptions): Promise<ServerStatus> {
  const labDir = opts.labDir ?? defaultLabDir();
  const p = serverPaths(server, labDir);
  const netns = opts.netns ?? defaultNetns(server);
  if (opts.device !== "disk" && opts.device !== "pxe")
    throw new ServerError(`boot device ${JSON.stringify(opts.device)} of server ${server}: use disk or pxe`);
  const running = readState(p.stateFile);
  if (running)
    throw new ServerError(
      `server ${server} is already running (PID 1 is host pid ${running.initPid}, booted from ${running.device}); halt it first`,
    );
  if (!existsSync(`/run/netns/${netns}`))
    throw new ServerError(
      `network namespace ${netns} of server ${server} does not exist (ip netns list): create the lab network first`,
    );
  mkdirSync(p.runDir, { recursive: true, mode: 0o700 });
  let argv: string[];
  let banner = "";
  if (opts.device === "disk") {
    if (!diskInstalled(server, { labDir })) {
      throw new ServerError(
        `server ${server} cannot boot from disk: ${p.disk} holds no installed system (no ${IMAGE_PATHS.init}); install it first (boot with --device pxe)`,
      );
    }
    argv = ["/bin/sh", "-c", DISK_SCRIPT, "zr-boot", p.disk, server];
  } else {
    const cfg = netbootConfig(server, labDir);
    banner = `: installer ${cfg.command.join(" ")}`;
    mkdirSync(p.disk, { recursive: true, mode: 0o755 });
    const env = Object.entries({
      ...(cfg.env ?? {}),
      PATH,
      LANG: "C.UTF-8",
      ZR_SERVER: server,
      ZR_DISK: p.disk,
      ZR_NETNS: netns,
      ZR_LAB_DIR: labDir,
    }).map(([k, v]) => `${k}=${v}`);
    argv = [
      "/bin/sh",
      "-c",
      PXE_SCRIPT,
      "zr-pxe",
      p.installerExit,
      server,
      "env",
      "-i",
      ...env,
      ...cfg.command,
    ];
  }
  const consoleFd = openSync(p.console, "a", 0o600);
  writeFileSync(consoleFd, `--- ${new Date().toISOString()} power on, boot ${opts.device}${banner}\n`);
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      netns,
      "unshare",
      "--pid",
      "--fork",
      "--kill-child=SIGKILL",
      "--mount",
      "--uts",
      "--ipc",
      "--propagation",
      "private",
      ...argv,
    ],
    { detached: true, cwd: "/", stdio: ["ignore", consoleFd, consoleFd], env: { PATH, LANG: "C.UTF-8" } },
  );
  closeSync(consoleFd);
  child.unref();
  const unsharePid = child.pid!;
  const initPid = await waitFor(
    () => childrenOf(unsharePid)[0],
    5000,
    () => !alive(unsharePid),
  );
  if (!initPid)
    throw new ServerError(
      `server ${server} did not start (unshare exited): see ${p.console}\n${tail(p.console)}`,
    );
  const ns = await waitFor(() => {
    const n = pidNamespace(initPid);
    return n && n !== pidNamespace(process.pid) ? n : undefined;
  }, 5000);
  if (!ns)
    throw new ServerError(`server ${server}: PID 1 did not enter its own PID namespace; see ${p.console}`);
  const state: ServerState = {
    server,
    netns,
    device: opts.device,
    unsharePid,
    initPid,
    pidNamespace: ns,
    bootedAt: new Date().toISOString(),
  };
  writeFileSync(p.stateFile, JSON.stringify(state, null, 2) + "\n");
  if (opts.wait) await waitReady(server, { labDir, timeoutMs: opts.timeoutMs });
  return serverStatus(server, { labDir });
}

/** Waits until a disk-booted server's PID 1 is ready; throws with the console's tail on failure or timeout. */
export async function waitReady(
  server: string,
  opts: LabServerOptions & { timeoutMs?: number } = {},
): Promise<ServerStatus> {
  const timeout = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeout;
  const p = serverPaths(server, opts.labDir);
  for (;;) {
    const s = serverStatus(server, opts);
    if (!s.running)
      throw new ServerError(`server ${server} stopped while booting: see ${p.console}\n${tail(p.console)}`);
    if (s.failure) throw new ServerError(`server ${server} started no service: ${s.failure}`);
    if (s.device === "pxe" || s.ready) return s;
    if (Date.now() > deadline)
      throw new ServerError(
        `server ${server} not ready after ${timeout / 1000}s: see ${p.console}\n${tail(p.console)}`,
      );
    await sleep(100);
  }
}

export function serverStatus(server: string, opts: LabServerOptions = {}): ServerStatus {
  const p = serverPaths(server, opts.labDir);
  const s = readState(p.stateFile);
  const exit = readText(p.installerExit)?.trim();
  const base = {
    server,
    diskInstalled: diskInstalled(server, opts),
    installerExitCode: exit ? Number(exit) : undefined,
  };
  if (!s) return { ...base, running: false, ready: false };
  const runDir = `/proc/${s.initPid}/root${IMAGE_PATHS.readyMarker.replace(/\/[^/]*$/, "")}`;
  return {
    ...base,
    running: true,
    device: s.device,
    netns: s.netns,
    pid: s.initPid,
    bootedAt: s.bootedAt,
    ready: s.device === "disk" && existsSync(`/proc/${s.initPid}/root${IMAGE_PATHS.readyMarker}`),
    failure: s.device === "disk" ? readText(`${runDir}/failed`)?.trim() : undefined,
    installerExitCode: s.device === "pxe" ? base.installerExitCode : undefined,
  };
}

export interface HaltResult {
  readonly server: string;
  readonly wasRunning: boolean;
  /** PID 1 did not stop within the grace period and its PID namespace was killed. */
  readonly forced: boolean;
  readonly seconds: number;
}

/** Powers a server off. Idempotent. Afterwards no process of the server remains and its disk is unused. */
export async function haltServer(
  server: string,
  opts: LabServerOptions & { graceMs?: number } = {},
): Promise<HaltResult> {
  const started = Date.now();
  const p = serverPaths(server, opts.labDir);
  const s = readState(p.stateFile);
  if (!s) {
    rmSync(p.stateFile, { force: true });
    return { server, wasRunning: false, forced: false, seconds: 0 };
  }
  const gone = () => !alive(s.unsharePid) && processesInPidNamespace(s.pidNamespace).length === 0;
  signal(s.initPid, "SIGTERM");
  let forced = false;
  if (!(await waitFor(() => (gone() ? true : undefined), opts.graceMs ?? 20_000))) {
    forced = true;
    signal(s.initPid, "SIGKILL"); // PID 1 of a namespace: the kernel kills every process in it
    signal(s.unsharePid, "SIGKILL");
    if (!(await waitFor(() => (gone() ? true : undefined), 5000)))
      throw new ServerError(
        `server ${server}: processes remain after SIGKILL: ${processesInPidNamespace(s.pidNamespace).map((x) => x.hostPid)}`,
      );
  }
  const users = processesRootedIn(p.disk);
  if (users.length > 0)
    throw new ServerError(
      `server ${server} halted but host processes ${users.join(", ")} still use its disk ${p.disk}`,
    );
  rmSync(p.stateFile, { force: true });
  writeFileSync(p.console, `--- ${new Date().toISOString()} power off${forced ? " (forced)" : ""}\n`, {
    flag: "a",
  });
  return { server, wasRunning: true, forced, seconds: (Date.now() - started) / 1000 };
}

/** Every process of a running server, read from the host's /proc (PID 1 first). */
export function serverProcesses(server: string, opts: LabServerOptions = {}): ServerProcess[] {
  const s = readState(serverPaths(server, opts.labDir).stateFile);
  if (!s) throw new ServerError(`server ${server} is not running`);
  return processesInPidNamespace(s.pidNamespace);
}

export interface ExecOptions extends LabServerOptions {
  /** Run as this uid/gid instead of root. */
  readonly uid?: number;
  readonly gid?: number;
  readonly allowFailure?: boolean;
}

/** Runs a command inside a running server (all its namespaces and its root), for tests and diagnosis. */
export async function execInServer(
  server: string,
  argv: readonly string[],
  opts: ExecOptions = {},
): Promise<RunResult> {
  const s = readState(serverPaths(server, opts.labDir).stateFile);
  if (!s) throw new ServerError(`server ${server} is not running`);
  const ids =
    opts.uid !== undefined ? ["--setuid", String(opts.uid), "--setgid", String(opts.gid ?? opts.uid)] : [];
  const root = s.device === "disk" ? ["--root", "--wd"] : [];
  return run(
    [
      "nsenter",
      "--target",
      String(s.initPid),
      "--mount",
      "--uts",
      "--ipc",
      "--net",
      "--pid",
      ...root,
      ...ids,
      "--",
      "/usr/bin/env",
      "-i",
      `PATH=${PATH}`,
      "LANG=C.UTF-8",
      ...argv,
    ],
    {
      allowFailure: opts.allowFailure,
    },
  );
}

/** Writes an image onto a server's (empty) disk: what the installer does, for tests and tools. */
export async function installDisk(
  server: string,
  imagePath: string,
  opts: LabServerOptions = {},
): Promise<void> {
  const p = serverPaths(server, opts.labDir);
  if (readState(p.stateFile))
    throw new ServerError(`server ${server} is running: halt it before writing its disk`);
  await unpackImage(imagePath, p.disk);
}

/** Erases a server's disk (powered off only). */
export function wipeDisk(server: string, opts: LabServerOptions = {}): void {
  const p = serverPaths(server, opts.labDir);
  if (readState(p.stateFile))
    throw new ServerError(`server ${server} is running: halt it before wiping its disk`);
  rmSync(p.disk, { recursive: true, force: true });
}

/** Servers that have a disk or runtime state under the lab directory. */
export function knownServers(opts: LabServerOptions = {}): string[] {
  const labDir = opts.labDir ?? defaultLabDir();
  const names = new Set<string>();
  for (const sub of ["disks", "servers"]) {
    try {
      for (const e of readdirSync(`${labDir}/${sub}`))
        if (statSync(`${labDir}/${sub}/${e}`).isDirectory()) names.add(e);
    } catch {
      // none yet
    }
  }
  return [...names].sort();
}

function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(
  probe: () => T | undefined,
  timeoutMs: number,
  abort?: () => boolean,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== 0) return v;
    if (abort?.() || Date.now() > deadline) return undefined;
    await sleep(20);
  }
}

const tail = (file: string) => (readText(file) ?? "").trim().split("\n").slice(-10).join("\n");
