/**
 * Booting a lab server: its disk's init, or its netboot installer (PXE), inside its network namespace
 * and fresh PID, mount, UTS and IPC namespaces. Every mount is made in the private mount namespace.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { IMAGE_PATHS } from "../../lib/hardening";
import { defaultLabDir, defaultNetns, ServerError, serverPaths } from "./paths";
import { alive, childrenOf, pidNamespace } from "./procfs";
import {
  diskInstalled,
  PATH,
  readState,
  serverStatus,
  sleep,
  tail,
  waitFor,
  type BootDevice,
  type LabServerOptions,
  type ServerState,
  type ServerStatus,
} from "./state";

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
  const { argv, banner } = bootCommand(server, opts.device, netns, labDir);
  const { unsharePid, initPid, ns } = await startInNamespaces(
    server,
    opts.device,
    netns,
    argv,
    banner,
    labDir,
  );
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

/** argv of what runs as the server's PID 1: the disk's init, or the netboot installer. */
function bootCommand(
  server: string,
  device: BootDevice,
  netns: string,
  labDir: string,
): { argv: string[]; banner: string } {
  const p = serverPaths(server, labDir);
  let argv: string[];
  let banner = "";
  if (device === "disk") {
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
  return { argv, banner };
}

/** Starts `argv` in fresh PID, mount, UTS and IPC namespaces inside `netns`; resolves once PID 1 runs. */
async function startInNamespaces(
  server: string,
  device: BootDevice,
  netns: string,
  argv: readonly string[],
  banner: string,
  labDir: string,
): Promise<{ unsharePid: number; initPid: number; ns: string }> {
  const p = serverPaths(server, labDir);
  const consoleFd = openSync(p.console, "a", 0o600);
  writeFileSync(consoleFd, `--- ${new Date().toISOString()} power on, boot ${device}${banner}\n`);
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
  return { unsharePid, initPid, ns };
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
