/**
 * A lab server: its disk (a directory holding the installed root filesystem) booted inside its
 * network namespace, in fresh PID, mount, UTS and IPC namespaces, or its netboot installer (PXE).
 * `boot` returns once PID 1 is started (pass `wait` to wait for readiness); `halt` stops PID 1
 * gracefully (SIGTERM, then SIGKILL of the whole PID namespace) and leaves no process or mount:
 * every mount is made inside the server's private mount namespace, which dies with its last process.
 */
import { readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { run, RunResult } from "../image/exec";
import { unpackImage } from "../image/build";
import { defaultLabDir, ServerError, serverPaths } from "./paths";
import { alive, processesInPidNamespace, processesRootedIn, ServerProcess } from "./procfs";
import { PATH, readState, signal, waitFor, type LabServerOptions } from "./state";

export { bootServer, waitReady, type BootOptions, type NetbootConfig } from "./boot";
export {
  diskInstalled,
  serverStatus,
  type BootDevice,
  type LabServerOptions,
  type ServerStatus,
} from "./state";

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
