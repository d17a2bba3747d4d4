/**
 * What the agent reads about its own host for drift detection, parsed from files an unprivileged user
 * can read: /proc/<pid>/status (uids, effective capabilities, no_new_privs), /var/lib/dpkg/status,
 * /etc/passwd, and the live nftables ruleset that PID 1 lists as JSON (the agent cannot list it).
 * Pure and bounded: every list is cut at a limit and says so, so a hostile or broken host cannot make
 * the report (an etcd value) grow without bound.
 */
import { createHash } from "node:crypto";

export const HOST_REPORT_LIMITS = {
  processes: 2000,
  packages: 4000,
  accounts: 500,
  listening: 1000,
  /** Characters of a process's command line kept. */
  commandChars: 256,
  /** Bytes of the nftables JSON the agent parses (the lab's ruleset is ~3 KB). */
  nftablesBytes: 1_000_000,
  /** Ports a firewall view lists per protocol. */
  firewallPorts: 1024,
} as const;

/** Linux capability numbers → names (capability.h, 0-40). */
const CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
  "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
  "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
  "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
]; // prettier-ignore

/** Names of the capabilities set in a CapEff mask (hex); unknown bits become `CAP_<n>`. */
export function decodeCapabilities(hex: string): string[] {
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) return [];
  const mask = BigInt(`0x${hex}`);
  const out: string[] = [];
  for (let i = 0; i < 64; i++) if ((mask >> BigInt(i)) & 1n) out.push(CAPABILITIES[i] ?? `CAP_${i}`);
  return out;
}

export interface ProcStatus {
  readonly uid: number;
  readonly euid: number;
  readonly capabilities: string[];
  readonly noNewPrivileges: boolean;
}

/** /proc/<pid>/status: real and effective uid, effective capabilities, NoNewPrivs. */
export function parseProcStatus(text: string): ProcStatus | undefined {
  const uid = /^Uid:\s+(\d+)\s+(\d+)/m.exec(text);
  if (!uid) return undefined;
  const cap = /^CapEff:\s+([0-9a-fA-F]+)/m.exec(text);
  const nnp = /^NoNewPrivs:\s+(\d)/m.exec(text);
  return {
    uid: Number(uid[1]),
    euid: Number(uid[2]),
    capabilities: cap ? decodeCapabilities(cap[1]) : [],
    noNewPrivileges: nnp?.[1] === "1",
  };
}

/** A command line from /proc/<pid>/cmdline (NUL-separated), cut to the report's bound. */
export function commandLine(raw: string): string {
  return raw.replace(/\0+$/, "").split("\0").join(" ").slice(0, HOST_REPORT_LIMITS.commandChars);
}

/** Names of the packages dpkg has installed ("Status: install ok installed"), sorted, bounded. */
export function parseDpkgStatus(text: string): string[] {
  const names: string[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    if (name && /^Status:\s*install ok installed\s*$/m.test(stanza)) names.push(name);
    if (names.length >= HOST_REPORT_LIMITS.packages) break;
  }
  return names.sort();
}

/**
 * Accounts drift detection judges: every uid-0 account other than `root` itself (which every Debian
 * system has, locked), and every account with uid >= 1000 (platform users, partitions, and anything
 * added by hand). System accounts below 1000 belong to the image's packages.
 */
export function parsePasswd(text: string): { user: string; uid: number }[] {
  const out: { user: string; uid: number }[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    if (!Number.isSafeInteger(uid)) continue;
    if ((uid === 0 && f[0] !== "root") || uid >= 1000) out.push({ user: f[0], uid });
    if (out.length >= HOST_REPORT_LIMITS.accounts) break;
  }
  return out;
}

export interface FirewallSummary {
  readonly inputPolicy: string;
  readonly allowedTcpPorts: number[];
  readonly allowedUdpPorts: number[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const obj = (x: unknown): Record<string, Json> =>
  typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Record<string, Json>) : {};

/** Ports a match's right-hand side names: a number, a set of numbers, or a range (capped). */
function portsOf(right: Json): number[] {
  if (typeof right === "number") return [right];
  const o = obj(right);
  if (Array.isArray(o.set)) return o.set.flatMap((x) => portsOf(x));
  if (Array.isArray(o.range) && typeof o.range[0] === "number" && typeof o.range[1] === "number") {
    const [a, b] = [o.range[0], Math.min(o.range[1], o.range[0] + HOST_REPORT_LIMITS.firewallPorts)];
    return Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);
  }
  return [];
}

/**
 * The input hook's policy and the TCP/UDP destination ports an accepting rule of an input chain opens,
 * from `nft -j list ruleset`. Several input chains (a table added by hand): the most permissive policy.
 */
export function firewallFromNftJson(doc: unknown): FirewallSummary | undefined {
  const items = obj(doc).nftables;
  if (!Array.isArray(items)) return undefined;
  const inputChains = new Set<string>();
  const policies: string[] = [];
  for (const it of items) {
    const c = obj(obj(it).chain);
    if (c.hook === "input") {
      inputChains.add(`${String(c.family)}/${String(c.table)}/${String(c.name)}`);
      policies.push(String(c.policy ?? "accept"));
    }
  }
  const tcp = new Set<number>();
  const udp = new Set<number>();
  for (const it of items) {
    const r = obj(obj(it).rule);
    if (!inputChains.has(`${String(r.family)}/${String(r.table)}/${String(r.chain)}`)) continue;
    const expr = Array.isArray(r.expr) ? r.expr : [];
    if (!expr.some((e) => "accept" in obj(e))) continue;
    for (const e of expr) {
      const m = obj(obj(e).match);
      const p = obj(obj(m.left).payload);
      if (p.field !== "dport" || (m.op !== "==" && m.op !== "in")) continue;
      const into = p.protocol === "tcp" ? tcp : p.protocol === "udp" ? udp : undefined;
      for (const port of portsOf(m.right))
        if (into && into.size < HOST_REPORT_LIMITS.firewallPorts) into.add(port);
    }
  }
  if (policies.length === 0) return { inputPolicy: "accept", allowedTcpPorts: [], allowedUdpPorts: [] };
  return {
    inputPolicy: policies.includes("accept") ? "accept" : policies[0],
    allowedTcpPorts: [...tcp].sort((a, b) => a - b),
    allowedUdpPorts: [...udp].sort((a, b) => a - b),
  };
}

/** Drops what changes without the ruleset changing: nft's version info, handles, counter values. */
function stable(x: Json): Json {
  if (Array.isArray(x)) return x.filter((i) => !("metainfo" in obj(i))).map(stable);
  if (typeof x !== "object" || x === null) return x;
  const out: Record<string, Json> = {};
  for (const k of Object.keys(x).sort()) {
    if (k === "handle") continue;
    out[k] = k === "counter" ? {} : stable(x[k]);
  }
  return out;
}

/** `sha256:<hex>` of a ruleset listing, stable across counters, handles and nft versions. */
export function nftablesDigest(doc: unknown): string {
  return `sha256:${createHash("sha256")
    .update(JSON.stringify(stable(doc as Json)))
    .digest("hex")}`;
}

/** Parses PID 1's listing, refusing what is larger than the bound before parsing it. */
export function parseNftablesListing(
  text: string,
): { ok: true; doc: unknown } | { ok: false; error: string } {
  if (Buffer.byteLength(text) > HOST_REPORT_LIMITS.nftablesBytes)
    return { ok: false, error: `larger than ${HOST_REPORT_LIMITS.nftablesBytes} bytes` };
  try {
    const doc = JSON.parse(text) as unknown;
    return Array.isArray(obj(doc).nftables) ? { ok: true, doc } : { ok: false, error: "no nftables array" };
  } catch (e) {
    return { ok: false, error: `not JSON (${(e as Error).message.slice(0, 80)})` };
  }
}
