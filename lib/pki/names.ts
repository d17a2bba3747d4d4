/**
 * Names: the DNS names and IP addresses a certificate may carry, and the name-constraint rules an
 * issuing CA imposes (RFC 5280 4.2.1.10). Used both at issuance (refuse early, with a clear message)
 * and at verification (refuse a certificate that a lax or compromised CA issued anyway).
 */
import * as net from "node:net";
import { PkiError } from "./errors";

/** What a CA may name: a DNS zone (itself and subdomains) and IP networks in CIDR form. */
export interface NameScope {
  readonly dnsZones: readonly string[];
  readonly ipNetworks: readonly string[];
  /** When no network is permitted, IP addresses are excluded outright rather than left unconstrained. */
  readonly excludeAllIps: boolean;
  /**
   * Hosts that URI names may carry (RFC 5280: exact host, or a leading dot for any subdomain). Issuing
   * CAs permit one host per certificate kind they may issue (`computer.dc1.example`), which is what
   * binds a leaf's identity URI (identity.ts) to its data center and kind in every X.509 verifier.
   */
  readonly uriHosts: readonly string[];
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Lower-cases and checks a DNS name; wildcards are refused (no profile needs them). */
export function normaliseDnsName(name: string, where: string): string {
  const n = name.trim().toLowerCase().replace(/\.$/, "");
  if (n.length > 253 || !n.split(".").every((l) => DNS_LABEL.test(l))) {
    throw new PkiError(
      "bad-input",
      `${where}: "${name}" is not a valid DNS name (letters, digits, hyphens; no wildcard)`,
    );
  }
  return n;
}

export function normaliseIp(ip: string, where: string): string {
  const v = net.isIP(ip.trim());
  if (v === 0) throw new PkiError("bad-input", `${where}: "${ip}" is not an IPv4 or IPv6 address`);
  return ip.trim().toLowerCase();
}

/** Parses "10.77.1.0/24" or "fd00:77::/48"; the address must be the network's first address. */
export function parseCidr(
  cidr: string,
  where: string,
): { address: string; prefix: number; family: "ipv4" | "ipv6" } {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  const v = m ? net.isIP(m[1]) : 0;
  const prefix = m ? Number(m[2]) : -1;
  if (!m || v === 0 || prefix > (v === 4 ? 32 : 128)) {
    throw new PkiError("bad-input", `${where}: "${cidr}" is not a network in CIDR form (e.g. 10.77.1.0/24)`);
  }
  return { address: m[1], prefix, family: v === 4 ? "ipv4" : "ipv6" };
}

/** True when `name` is `zone` or inside it (label boundary, so "evil-dc1.example" is not in "dc1.example"). */
export function dnsInZone(name: string, zone: string): boolean {
  const n = name.toLowerCase();
  const z = zone.toLowerCase().replace(/^\./, "");
  return n === z || n.endsWith(`.${z}`);
}

export function ipInNetworks(ip: string, networks: readonly string[]): boolean {
  const family = net.isIP(ip) === 4 ? "ipv4" : "ipv6";
  const list = new net.BlockList();
  for (const cidr of networks) {
    const c = parseCidr(cidr, "network");
    if (c.family === family) list.addSubnet(c.address, c.prefix, c.family);
  }
  return list.check(ip, family);
}

/** The host of a URI (lower case), or undefined when it has none (RFC 5280 then refuses it under a constraint). */
export function uriHost(uri: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@:]*)(?::\d+)?(?:[/?#]|$)/i.exec(uri);
  return m && m[1] !== "" ? m[1].toLowerCase() : undefined;
}

function uriHostPermitted(host: string, permitted: string): boolean {
  const p = permitted.toLowerCase();
  return p.startsWith(".") ? host.endsWith(p) : host === p;
}

/** Returns the first name outside the scope, or undefined when every name is permitted. */
export function firstNameOutside(
  scope: NameScope,
  dnsNames: readonly string[],
  ipAddresses: readonly string[],
  uris: readonly string[] = [],
): string | undefined {
  if (scope.uriHosts.length > 0) {
    const bad = uris.find((u) => {
      const host = uriHost(u);
      return host === undefined || !scope.uriHosts.some((p) => uriHostPermitted(host, p));
    });
    if (bad !== undefined) return bad;
  }
  if (scope.dnsZones.length > 0) {
    const bad = dnsNames.find((n) => !scope.dnsZones.some((z) => dnsInZone(n, z)));
    if (bad) return bad;
  }
  if (scope.ipNetworks.length > 0) return ipAddresses.find((ip) => !ipInNetworks(ip, scope.ipNetworks));
  return scope.excludeAllIps ? ipAddresses[0] : undefined;
}
