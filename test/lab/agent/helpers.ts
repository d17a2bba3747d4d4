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

/** Processes of partition `index` started by its supervisord (children of the pid in its pid file). */
export function partitionPrograms(lab: { readonly partitionsRoot: string }, index: number): ProgramProcess[] {
  const p = partitionPaths(partitionName(index), lab.partitionsRoot);
  let sup: number;
  try {
    sup = Number(fs.readFileSync(p.pidFile, "utf8").trim());
  } catch {
    return [];
  }
  const out: ProgramProcess[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) !== sup) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${d}/status`, "utf8"))?.[1]);
      const cmdline = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").trim();
      out.push({ pid: Number(d), uid, ppid: sup, startTicks: Number(f[19]), cmdline });
    } catch {
      // gone
    }
  }
  return out;
}
