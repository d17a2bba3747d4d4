/**
 * Finding a supervised program by what it runs, from the host's /proc: after a restart its pid is
 * new, so a recorded pid says nothing about what runs now. Zombies do not count as running.
 */
import { readdirSync, readFileSync } from "node:fs";

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

const isZombie = (pid: number) => / Z /.test((read(`/proc/${pid}/stat`) ?? "").replace(/^.*\)/, ")"));

/** The process exists, is not a zombie, and its command line contains `marker`. */
export function processAlive(pid: number, marker: string): boolean {
  const cmd = read(`/proc/${pid}/cmdline`);
  return cmd !== undefined && cmd.replace(/\0/g, " ").includes(marker) && !isZombie(pid);
}

/** Live processes whose argv contains every one of `args` as a whole argument, lowest pid first. */
export function findProcesses(args: readonly string[]): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const cmd = read(`/proc/${e}/cmdline`);
    if (!cmd) continue;
    const argv = cmd.split("\0");
    if (args.every((a) => argv.includes(a)) && !isZombie(Number(e))) out.push(Number(e));
  }
  return out.sort((a, b) => a - b);
}

/** The uid a process runs as (real uid), or undefined when it is gone. */
export function uidOf(pid: number): number | undefined {
  const m = /^Uid:\s+(\d+)/m.exec(read(`/proc/${pid}/status`) ?? "");
  return m ? Number(m[1]) : undefined;
}
