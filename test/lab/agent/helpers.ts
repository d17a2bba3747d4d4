/** Small helpers of the agent's lab tests and benchmark: waiting, and the programs a partition runs. */
import * as fs from "node:fs";
import { partitionName, partitionPaths } from "../../../lib/hardening";

export const canRunLab = (): boolean =>
  process.getuid?.() === 0 && fs.existsSync("/usr/bin/etcd") && fs.existsSync("/usr/bin/supervisord");

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  stepMs = 100,
): Promise<Exclude<T, undefined | false | null>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Exclude<T, undefined | false | null>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${String(last)})` : ""}`,
      );
    await sleep(stepMs);
  }
}

export interface ProgramProcess {
  readonly pid: number;
  readonly uid: number;
  readonly ppid: number;
  readonly startTicks: number;
  readonly cmdline: string;
}

interface ProcEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number;
  readonly startTicks: number;
  readonly cmdline: string;
}

/** Every process of the host (pids as the host sees them, whatever PID namespace they run in). */
export function hostProcesses(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${d}/status`, "utf8"))?.[1]);
      const cmdline = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").trim();
      out.push({ pid: Number(d), ppid: Number(f[1]), uid, startTicks: Number(f[19]), cmdline });
    } catch {
      // gone
    }
  }
  return out;
}

/** Host pids of partition `index`'s supervisord (found by its configuration file: its pid file holds
 * the pid of its own PID namespace when the image's PID 1 started it). */
export function partitionSupervisords(
  lab: { readonly partitionsRoot: string },
  index: number,
  procs: readonly ProcEntry[] = hostProcesses(),
): number[] {
  const conf = `${partitionPaths(partitionName(index), lab.partitionsRoot).supervisorDir}/supervisord.conf`;
  return procs
    .filter(
      (p) => p.cmdline.startsWith("/usr/bin/python3 /usr/bin/supervisord") && p.cmdline.endsWith(` ${conf}`),
    )
    .map((p) => p.pid);
}

/** Processes of partition `index` started by its supervisord. */
export function partitionPrograms(lab: { readonly partitionsRoot: string }, index: number): ProgramProcess[] {
  const procs = hostProcesses();
  const sups = new Set(partitionSupervisords(lab, index, procs));
  return procs.filter((p) => sups.has(p.ppid));
}
