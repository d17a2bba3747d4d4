/**
 * Address arithmetic for the inventory: CIDR parsing, membership and overlap, IPv4 and IPv6.
 * Node's BlockList does the membership maths; we only add parsing with exact errors.
 */
import { BlockList, isIP } from "node:net";

export interface Cidr {
  readonly text: string;
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/** Parses "10.77.1.0/24"; returns a reason string instead of throwing so validators can report it. */
export function parseCidr(text: string): Cidr | string {
  const [address, prefixText, extra] = text.split("/");
  if (extra !== undefined || prefixText === undefined) return "is not in CIDR notation (address/prefix)";
  const version = isIP(address);
  if (version === 0) return `has "${address}", which is not an IP address`;
  const max = version === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max)
    return `has prefix "/${prefixText}"; allowed /0 to /${max}`;
  const family = version === 4 ? "ipv4" : "ipv6";
  const cidr = { text, address, prefix: Number(prefixText), family } as const;
  // A CIDR whose address has host bits set is almost always a typo (10.77.1.5/24 for 10.77.1.0/24).
  if (networkAddress(cidr) !== normalise(address, family))
    return `has host bits set; the network is ${networkAddress(cidr)}/${cidr.prefix}`;
  return cidr;
}

export function contains(cidr: Cidr, ip: string): boolean {
  const version = isIP(ip);
  if (version === 0 || (version === 4) !== (cidr.family === "ipv4")) return false;
  const list = new BlockList();
  list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  return list.check(ip, cidr.family);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && (contains(a, b.address) || contains(b, a.address));
}

function toBigInt(ip: string, family: "ipv4" | "ipv6"): bigint {
  if (family === "ipv4") return ip.split(".").reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n);
  const [head, tail = ""] = ip.includes("::") ? ip.split("::") : [ip, undefined as unknown as string];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || "0", 16)), 0n);
}

function fromBigInt(value: bigint, family: "ipv4" | "ipv6"): string {
  if (family === "ipv4") return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join(".");
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(":");
}

function normalise(ip: string, family: "ipv4" | "ipv6"): string {
  return fromBigInt(toBigInt(ip, family), family);
}

export function networkAddress(cidr: Cidr): string {
  const bits = cidr.family === "ipv4" ? 32 : 128;
  const hostBits = BigInt(bits - cidr.prefix);
  const value = (toBigInt(cidr.address, cidr.family) >> hostBits) << hostBits;
  return fromBigInt(value, cidr.family);
}

/**
 * "network" or "broadcast" when `ip` is the network's own address (IPv6: the subnet-router anycast
 * address) or its IPv4 broadcast address: never a host's. /31 and /32 (IPv6 /127, /128) have none.
 */
export function reservedAddressOf(cidr: Cidr, ip: string): "network" | "broadcast" | undefined {
  const bits = cidr.family === "ipv4" ? 32 : 128;
  if (!contains(cidr, ip) || cidr.prefix >= bits - 1) return undefined;
  const value = toBigInt(ip, cidr.family);
  const hostBits = BigInt(bits - cidr.prefix);
  const network = (toBigInt(cidr.address, cidr.family) >> hostBits) << hostBits;
  if (value === network) return "network";
  if (cidr.family === "ipv4" && value === network + (1n << hostBits) - 1n) return "broadcast";
  return undefined;
}
