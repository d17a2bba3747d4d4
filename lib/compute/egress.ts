/**
 * Per-user network isolation (issue #12, part 4): the egress ruleset of one server, derived from the
 * grants of the users whose processes run in its partitions. A partition uid may open connections
 * only to the endpoints its owner is granted; everything else it sends is dropped and counted by a
 * named counter of its own (`zr-drop-<uid>`), so an alert can say which user tried what.
 *
 * The model (`EgressRuleset`) is what lib/rules' per-user-egress rule judges; `renderEgressNft`
 * turns it into an `nft -f` file. Uids not in the model (zr-agent, the supervisord users, services
 * of the platform) match no rule and pass: the chain's policy is accept, and every drop names a uid.
 */
import { isIPv4, isIPv6 } from "node:net";
import { MAX_PARTITIONS, PARTITION_UID_BASE } from "../hardening/partitions";
import { escapeForMessage, formatIdentity, parseIdentity } from "../pki/identity";

/** The table the ruleset owns; nothing else writes to it, so it is replaced as a whole. */
export const EGRESS_TABLE = "zr_egress";

export const EGRESS_LIMITS = {
  /** One model entry per partition at most. */
  partitions: MAX_PARTITIONS,
  /** Endpoints one owner may be granted (data sets x servers x ports, own clusters' ports). */
  endpointsPerOwner: 512,
  /** Accept rules in one ruleset, all uids together: bounds the file nft loads. */
  rules: 32_768,
} as const;

/** Partition uids: the only uids this ruleset restricts (lib/hardening/partitions.ts). */
export const USER_UID_RANGE = { min: PARTITION_UID_BASE, max: PARTITION_UID_BASE + MAX_PARTITIONS - 1 };

export interface EgressEndpoint {
  /** An IPv4 or IPv6 address, no name, no prefix, no zone. */
  readonly address: string;
  /** TCP port 1-65535. */
  readonly port: number;
}

/** A partition whose processes belong to a user: its uid and the owner's identity `dc1/user/alice`. */
export interface UserPartition {
  readonly uid: number;
  readonly owner: string;
}

/** Per uid, in ascending uid order: the owner and its allowed endpoints (sorted, unique). */
export interface EgressRuleset {
  readonly uids: readonly {
    readonly uid: number;
    readonly owner: string;
    readonly allow: readonly EgressEndpoint[];
  }[];
}

export class EgressInputError extends Error {
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
    this.name = "EgressInputError";
  }
}

/** A received value for a message: cut, then escaped (no control or bidi character reaches a log). */
const quote = (v: unknown): string =>
  typeof v === "string" ? `"${escapeForMessage(v.slice(0, 80))}"` : escapeForMessage(String(v).slice(0, 80));

/** The address in canonical text, or an error: only plain IPv4 / IPv6 literals reach nft. */
export function checkAddress(address: unknown, where: string): string {
  if (typeof address !== "string" || address.length > 45 || !(isIPv4(address) || isIPv6(address)))
    throw new EgressInputError(
      where,
      `got ${quote(address)}; allowed: an IPv4 or IPv6 address such as 10.1.0.5`,
    );
  // isIPv6 accepts a zone (fe80::1%eth0); a zone is an interface name, never a grant.
  if (!/^[0-9A-Fa-f.:]+$/.test(address))
    throw new EgressInputError(where, `got ${quote(address)}; allowed: an address without a zone or prefix`);
  return isIPv4(address) ? address : canonicalIPv6(address);
}

/** One text per IPv6 address (fd00:0::A → fd00::a), by the WHATWG URL parser's serialisation. */
const canonicalIPv6 = (address: string): string => new URL(`http://[${address}]/`).hostname.slice(1, -1);

/** The canonical text of a plain IPv4/IPv6 literal, or undefined: for comparing addresses. */
export function canonicalAddress(address: unknown): string | undefined {
  try {
    return checkAddress(address, "address");
  } catch {
    return undefined;
  }
}

export function checkPort(port: unknown, where: string): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new EgressInputError(where, `got ${quote(port)}; allowed: a TCP port from 1 to 65535`);
  return port;
}

export function checkUid(uid: unknown, where: string): number {
  const { min, max } = USER_UID_RANGE;
  if (typeof uid !== "number" || !Number.isInteger(uid) || uid < min || uid > max)
    throw new EgressInputError(
      where,
      `got ${quote(uid)}; allowed: a partition uid from ${min} to ${max} (platform uids are never restricted here)`,
    );
  return uid;
}

export function checkOwner(owner: unknown, where: string): string {
  const id = parseIdentity(owner);
  if (typeof id === "string" || id.kind !== "user")
    throw new EgressInputError(where, `got ${quote(owner)}; allowed: a user identity such as dc1/user/alice`);
  return formatIdentity(id);
}

const endpointKey = (e: EgressEndpoint) => `${e.address} ${e.port}`;

/** Address family first, then address bytes, then port: one order for every input order. */
export function compareEndpoints(a: EgressEndpoint, b: EgressEndpoint): number {
  const v6 = (x: string) => (x.includes(":") ? 1 : 0);
  if (v6(a.address) !== v6(b.address)) return v6(a.address) - v6(b.address);
  const n = (x: string) =>
    v6(x)
      ? x
      : x
          .split(".")
          .map((o) => o.padStart(3, "0"))
          .join(".");
  const c = n(a.address).localeCompare(n(b.address));
  return c !== 0 ? c : a.port - b.port;
}

/**
 * Builds the model from a server's user partitions and what each owner is granted
 * (`grants`: owner identity text → endpoints, e.g. from `grantedEndpoints`). Refuses hostile or
 * oversized input with an EgressInputError naming the entry; an owner without grants gets no accept
 * rule, only the counted drop.
 */
export function buildEgressRuleset(
  partitions: readonly UserPartition[],
  grants: ReadonlyMap<string, readonly EgressEndpoint[]>,
): EgressRuleset {
  if (partitions.length > EGRESS_LIMITS.partitions)
    throw new EgressInputError(
      "partitions",
      `${partitions.length} entries; at most ${EGRESS_LIMITS.partitions}`,
    );
  const byUid = new Map<number, string>();
  partitions.forEach((p, i) => {
    const uid = checkUid(p.uid, `partitions[${i}].uid`);
    const owner = checkOwner(p.owner, `partitions[${i}].owner`);
    if (byUid.has(uid)) throw new EgressInputError(`partitions[${i}].uid`, `uid ${uid} is listed twice`);
    byUid.set(uid, owner);
  });
  const allowOf = new Map<string, EgressEndpoint[]>();
  let rules = 0;
  const uids = [...byUid.entries()]
    .sort(([a], [b]) => a - b)
    .map(([uid, owner]) => {
      let allow = allowOf.get(owner);
      if (!allow) {
        allow = ownerEndpoints(owner, grants.get(owner) ?? []);
        allowOf.set(owner, allow);
      }
      rules += allow.length;
      if (rules > EGRESS_LIMITS.rules)
        throw new EgressInputError("grants", `more than ${EGRESS_LIMITS.rules} accept rules on one server`);
      return { uid, owner, allow };
    });
  return { uids };
}

function ownerEndpoints(owner: string, endpoints: readonly EgressEndpoint[]): EgressEndpoint[] {
  return normaliseEndpoints(endpoints, `grants[${quote(owner)}]`);
}

/** Checked (bounded count, canonical addresses, ports), unique and sorted; errors name `where[i]`. */
export function normaliseEndpoints(endpoints: readonly EgressEndpoint[], where: string): EgressEndpoint[] {
  if (endpoints.length > EGRESS_LIMITS.endpointsPerOwner)
    throw new EgressInputError(
      where,
      `${endpoints.length} endpoints; at most ${EGRESS_LIMITS.endpointsPerOwner}`,
    );
  const unique = new Map<string, EgressEndpoint>();
  endpoints.forEach((e, i) => {
    const c = {
      address: checkAddress(e.address, `${where}[${i}].address`),
      port: checkPort(e.port, `${where}[${i}].port`),
    };
    unique.set(endpointKey(c), c);
  });
  return [...unique.values()].sort(compareEndpoints);
}

export const dropCounterName = (uid: number): string => `zr-drop-${uid}`;

/**
 * The `nft -f` text of the model. The file first creates then deletes the table, so loading it
 * replaces the previous version atomically (one transaction) whether or not it existed.
 *
 * - `ct state established,related accept`: a partition's listener (a scheduler, a worker) answers
 *   connections accepted on input; those replies leave with the listener's uid. Only NEW packets
 *   open a connection, and those meet the per-uid rules, so no new destination is reachable this way.
 * - No loopback exemption: a uid reaching another user's process on this server (127.0.0.1 or the
 *   server's own address, both over lo) is exactly what must be dropped; the owner's own cluster
 *   endpoints are granted by address like any other.
 * - The drop has no protocol: UDP (DNS included), ICMP and IPv6 of a user uid are dropped too.
 */
export function renderEgressNft(model: EgressRuleset): string {
  const lines = [
    `# Rendered by zeroroot (lib/compute/egress.ts) from the grants of this server's users. Do not edit.`,
    `table inet ${EGRESS_TABLE}`,
    `delete table inet ${EGRESS_TABLE}`,
    `table inet ${EGRESS_TABLE} {`,
  ];
  for (const { uid } of model.uids) lines.push(`\tcounter ${dropCounterName(checkUid(uid, "uid"))} {`, `\t}`);
  lines.push(
    `\tchain output {`,
    `\t\ttype filter hook output priority filter; policy accept;`,
    `\t\tct state established,related accept`,
  );
  for (const { uid, owner, allow } of model.uids) {
    lines.push(`\t\t# uid ${checkUid(uid, "uid")}: ${checkOwner(owner, `uid ${uid}`)}`);
    for (const e of allow) {
      const address = checkAddress(e.address, `uid ${uid}`);
      const family = isIPv4(address) ? "ip" : "ip6";
      lines.push(
        `\t\tmeta skuid ${uid} ${family} daddr ${address} tcp dport ${checkPort(e.port, `uid ${uid}`)} accept`,
      );
    }
    lines.push(`\t\tmeta skuid ${uid} counter name "${dropCounterName(uid)}" drop`);
  }
  lines.push(`\t}`, `}`, ``);
  return lines.join("\n");
}
