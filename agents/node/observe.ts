/** What the agent observes about its own host, read from /proc (no tools needed in the image). */
import { readdirSync, readFileSync } from "node:fs";
import { parseNetSockets, parseStat, parseStatusUids, type ListeningSocket } from "../../lib/agent/procfs";
import type { ProcessRow } from "../../lib/agent/anomaly";

/** TCP ports in LISTEN state, IPv4 and IPv6. */
export function listeningTcpPorts(): number[] {
  const ports = new Set<number>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 3 && cols[3] === "0A") ports.add(parseInt(cols[1].split(":")[1], 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

export function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "unknown";
  }
}

/** Every process of the node and every listening socket, read from /proc as an unprivileged user. */
export function sampleNode(procRoot = "/proc"): { processes: ProcessRow[]; listening: ListeningSocket[] } {
  const processes: ProcessRow[] = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = parseStat(readFileSync(`${procRoot}/${name}/stat`, "utf8"));
      const ids = parseStatusUids(readFileSync(`${procRoot}/${name}/status`, "utf8"));
      if (!st || !ids) continue;
      processes.push({
        pid: st.pid,
        ppid: st.ppid,
        uid: ids.real,
        euid: ids.effective,
        comm: st.comm,
        cpuTicks: st.cpuTicks,
        startTicks: st.startTicks,
        rssPages: st.rssPages,
      });
    } catch {
      // the process ended while we read it
    }
  }
  const listening: ListeningSocket[] = [];
  for (const [file, proto] of [
    ["tcp", "tcp"],
    ["tcp6", "tcp"],
    ["udp", "udp"],
    ["udp6", "udp"],
  ] as const) {
    try {
      listening.push(...parseNetSockets(readFileSync(`${procRoot}/net/${file}`, "utf8"), proto));
    } catch {
      // no IPv6 on this node
    }
  }
  return { processes, listening };
}

/** A pid written in a pid file, or undefined when the file is absent or unreadable. */
export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
