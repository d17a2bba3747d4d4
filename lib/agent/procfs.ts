/**
 * Parsers of the /proc files the agent reads as an unprivileged user: /proc/<pid>/stat and status
 * (readable for every process), /proc/net/tcp{,6} (whose uid column gives a socket's owner, so
 * listening ports are attributed to a partition without reading other users' /proc/<pid>/fd).
 */

export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly state: string;
  readonly ppid: number;
  /** utime + stime, in clock ticks. */
  readonly cpuTicks: number;
  /** Start time after boot, in clock ticks: with the pid, identifies one process over time. */
  readonly startTicks: number;
  readonly rssPages: number;
}

/** /proc/<pid>/stat; comm may contain spaces and parentheses, so split after the last ")". */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // f[0] is field 3 (state); field n is f[n - 3]
  const n = (i: number) => Number(f[i - 3]);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: f[0],
    ppid: n(4),
    cpuTicks: n(14) + n(15),
    startTicks: n(22),
    rssPages: n(24),
  };
}

/** Real and effective uid from /proc/<pid>/status. */
export function parseStatusUids(text: string): { real: number; effective: number } | undefined {
  const m = /^Uid:\s+(\d+)\s+(\d+)/m.exec(text);
  return m ? { real: Number(m[1]), effective: Number(m[2]) } : undefined;
}

export interface ListeningSocket {
  readonly port: number;
  readonly uid: number;
  readonly protocol: "tcp" | "udp";
}

/**
 * Listening TCP sockets (state 0A) or bound UDP sockets (state 07) of /proc/net/{tcp,tcp6,udp,udp6}.
 * Columns: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode.
 */
export function parseNetSockets(text: string, protocol: "tcp" | "udp"): ListeningSocket[] {
  const want = protocol === "tcp" ? "0A" : "07";
  const out: ListeningSocket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const c = line.trim().split(/\s+/);
    if (c.length < 8 || c[3] !== want) continue;
    out.push({ port: parseInt(c[1].split(":")[1], 16), uid: Number(c[7]), protocol });
  }
  return out;
}

/** Pids that descend from `root` (root excluded), given every process's parent. */
export function descendantsOf(root: number, parents: ReadonlyMap<number, number>): Set<number> {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    const l = children.get(ppid) ?? [];
    l.push(pid);
    children.set(ppid, l);
  }
  const out = new Set<number>();
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const p = stack.pop() as number;
    if (out.has(p)) continue;
    out.add(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}
