/** Reading a lab server's processes from the host's /proc (no process is started inside it). */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface ServerProcess {
  readonly hostPid: number;
  /** PID inside the server's PID namespace (1 = its init). */
  readonly nsPid: number;
  readonly name: string;
  readonly cmdline: string;
  /** Real, effective, saved, filesystem uids. */
  readonly uids: readonly number[];
  readonly capEff: bigint;
  readonly capBnd: bigint;
  readonly noNewPrivs: boolean;
}

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export function pidNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readText(`/proc/${pid}/stat`)?.split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

/** Direct children of a process (all its threads). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    for (const c of (readText(`/proc/${pid}/task/${t}/children`) ?? "").trim().split(/\s+/))
      if (c) out.push(Number(c));
  }
  return out;
}

export function readProcess(pid: number): ServerProcess | undefined {
  const status = readText(`/proc/${pid}/status`);
  if (!status) return undefined;
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, "m").exec(status)?.[1] ?? "";
  const nspids = field("NSpid").split(/\s+/).map(Number);
  return {
    hostPid: pid,
    nsPid: nspids[nspids.length - 1],
    name: field("Name"),
    cmdline: (readText(`/proc/${pid}/cmdline`) ?? "").split("\0").filter(Boolean).join(" "),
    uids: field("Uid").split(/\s+/).map(Number),
    capEff: BigInt(`0x${field("CapEff") || "0"}`),
    capBnd: BigInt(`0x${field("CapBnd") || "0"}`),
    noNewPrivs: field("NoNewPrivs") === "1",
  };
}

/** Every process of the host whose PID namespace is `ns` (as readlink /proc/PID/ns/pid shows it). */
export function processesInPidNamespace(ns: string): ServerProcess[] {
  const out: ServerProcess[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pidNamespace(pid) !== ns) continue;
    const p = readProcess(pid);
    if (p) out.push(p);
  }
  return out.sort((a, b) => a.nsPid - b.nsPid);
}

/** Host processes whose root directory is `dir` or below it (what still uses a disk). */
export function processesRootedIn(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const root = readlinkSync(`/proc/${e}/root`);
      if (root === dir || root.startsWith(`${dir}/`)) out.push(Number(e));
    } catch {
      // gone or not ours to read
    }
  }
  return out;
}

/** Mount points (of any mount namespace visible through the host's /proc) under `dir`. */
export function mountsUnder(dir: string, pid: number | "self" = "self"): string[] {
  return (readText(`/proc/${pid}/mounts`) ?? "")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)));
}
