/**
 * A lab server's recorded state (who is PID 1, in which PID namespace) and its status as read from the
 * host's /proc, plus the small waiting helpers boot and halt share.
 */
import { existsSync } from "node:fs";
import { IMAGE_PATHS } from "../../lib/hardening";
import { serverPaths } from "./paths";
import { alive, pidNamespace, readText } from "./procfs";

export type BootDevice = "disk" | "pxe";

export interface LabServerOptions {
  /** @default - `$ZEROROOT_LAB_DIR` or `<repo>/.zeroroot/lab` */
  readonly labDir?: string;
}

export interface ServerState {
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

export const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function readState(stateFile: string): ServerState | undefined {
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

export function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(
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

export const tail = (file: string) => (readText(file) ?? "").trim().split("\n").slice(-10).join("\n");
