/** What the agent observes about its own host, read from /proc (no tools needed in the image). */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { parseNetSockets, parseStat, parseStatusUids, type ListeningSocket } from "../../lib/agent/procfs";
import type { ProcessRow } from "../../lib/agent/anomaly";
import {
  commandLine,
  firewallFromNftJson,
  HOST_REPORT_LIMITS,
  nftablesDigest,
  parseDpkgStatus,
  parseNftablesListing,
  parsePasswd,
  parseProcStatus,
  type FirewallSummary,
} from "../../lib/agent/host-observe";
import type { ObservedHost } from "../../lib/rules/host-views";

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

/** Where PID 1 leaves its nftables listings (agents/init/zr-init.py), readable by the agent. */
export const NFT_LISTINGS = {
  live: "/run/zeroroot/nftables.json",
  applied: "/run/zeroroot/nftables.applied.json",
} as const;

/**
 * Bytes of one host file the agent reads for its report (dpkg's status of a storage image is ~1 MB):
 * the size is checked before reading, so a huge or endless file costs nothing.
 */
const HOST_FILE_MAX_BYTES = 8 * 1024 * 1024;

const readOr = (file: string): string | undefined => {
  try {
    const st = statSync(file);
    // /proc files report size 0 and are small by nature; a regular file is bounded before it is read.
    if (st.size > HOST_FILE_MAX_BYTES) return undefined;
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
};

export interface HostFiles {
  readonly procRoot: string;
  readonly dpkgStatus: string;
  readonly passwd: string;
  readonly nftLive: string;
  readonly nftApplied: string;
}

export const DEFAULT_HOST_FILES: HostFiles = {
  procRoot: "/proc",
  dpkgStatus: "/var/lib/dpkg/status",
  passwd: "/etc/passwd",
  nftLive: NFT_LISTINGS.live,
  nftApplied: NFT_LISTINGS.applied,
};

/** The nftables part of the report: digests of the live and the applied listings, and why one is missing. */
export interface NftablesObservation {
  readonly sha256?: string;
  readonly appliedSha256?: string;
  readonly listedAt?: string;
  readonly error?: string;
}

function nftablesOf(files: HostFiles): { nft: NftablesObservation; firewall?: FirewallSummary } {
  const live = readOr(files.nftLive);
  if (live === undefined)
    return {
      nft: {
        error: `PID 1 has written no ruleset listing at ${files.nftLive} (or it is over ${HOST_FILE_MAX_BYTES} bytes)`,
      },
    };
  const parsed = parseNftablesListing(live);
  if (!parsed.ok) return { nft: { error: `${files.nftLive}: ${parsed.error}` } };
  const applied = readOr(files.nftApplied);
  const ap = applied === undefined ? undefined : parseNftablesListing(applied);
  let listedAt: string | undefined;
  try {
    listedAt = statSync(files.nftLive).mtime.toISOString();
  } catch {
    listedAt = undefined;
  }
  return {
    nft: {
      sha256: nftablesDigest(parsed.doc),
      appliedSha256: ap?.ok ? nftablesDigest(ap.doc) : undefined,
      listedAt,
    },
    firewall: firewallFromNftJson(parsed.doc),
  };
}

/**
 * The host as drift detection sees it (lib/rules' ObservedHost): processes with uid, capabilities and
 * command, accounts, listening sockets, packages, and the firewall of the live ruleset. Bounded.
 */
export function observeHost(
  hostId: string,
  files: HostFiles = DEFAULT_HOST_FILES,
): { host: ObservedHost; nftables: NftablesObservation; truncated: string[] } {
  const L = HOST_REPORT_LIMITS;
  const truncated: string[] = [];
  const names = new Map(parsePasswdAll(readOr(files.passwd) ?? ""));
  const processes: NonNullable<ObservedHost["processes"]>[number][] = [];
  const pids = readdirSync(files.procRoot).filter((n) => /^\d+$/.test(n));
  if (pids.length > L.processes) truncated.push(`processes (${pids.length} > ${L.processes})`);
  for (const name of pids.slice(0, L.processes)) {
    const st = readOr(`${files.procRoot}/${name}/status`);
    const s = st === undefined ? undefined : parseProcStatus(st);
    if (!s) continue; // ended while we read it
    const comm = /^Name:\s*(.*)$/m.exec(st ?? "")?.[1] ?? "";
    const cmd = commandLine(readOr(`${files.procRoot}/${name}/cmdline`) ?? "");
    processes.push({
      pid: Number(name),
      name: comm,
      command: cmd || `[${comm}]`,
      user: names.get(s.euid),
      uid: Math.min(s.uid, s.euid), // a process that is root by either uid is root
      capabilities: s.capabilities,
      noNewPrivileges: s.noNewPrivileges,
    });
  }
  const sockets = sampleNode(files.procRoot).listening;
  const seen = new Set<string>();
  const listening = sockets
    .filter((l) => !seen.has(`${l.protocol}/${l.port}`) && seen.add(`${l.protocol}/${l.port}`))
    .slice(0, L.listening)
    .map((l) => ({ port: l.port, protocol: l.protocol }));
  const { nft, firewall } = nftablesOf(files);
  return {
    host: {
      hostId,
      packages: parseDpkgStatus(readOr(files.dpkgStatus) ?? ""),
      processes,
      accounts: parsePasswd(readOr(files.passwd) ?? ""),
      listening,
      firewall,
    },
    nftables: nft,
    truncated,
  };
}

/** uid → name for every passwd line (to name a process's user). */
function parsePasswdAll(text: string): [number, string][] {
  return text
    .split("\n")
    .map((l) => l.split(":"))
    .filter((f) => f.length >= 7 && /^\d+$/.test(f[2]))
    .map((f) => [Number(f[2]), f[0]]);
}
