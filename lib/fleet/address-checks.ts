/**
 * Checks of single hardware and network addresses of a data center that the schema's shape cannot
 * express: MACs that no network card has, and network or broadcast addresses given to a machine.
 */
import { reservedAddressOf, type Cidr } from "./net";
import type { PathSegment } from "./validate";

type Report = (path: readonly PathSegment[], received: string, allowed: string, fix: string) => void;

/** Why `mac` (lower-case, colon-separated, already shape-checked) cannot be a card's address. */
export function macProblem(mac: string): string | undefined {
  if (mac === "00:00:00:00:00:00") return "the all-zero address, which no card has";
  if (mac === "ff:ff:ff:ff:ff:ff") return "the broadcast address";
  // Bit 0 of the first octet is the I/G bit: set, the address names a group, not one card.
  if (parseInt(mac.slice(0, 2), 16) & 1) return "a multicast address (the low bit of its first octet is set)";
  return undefined;
}

export function checkMac(mac: string, path: PathSegment[], report: Report): void {
  const problem = macProblem(mac);
  if (problem)
    report(
      path,
      `${JSON.stringify(mac)}, ${problem}`,
      "the unicast MAC address of one network card (first octet even, not all zero)",
      "copy the MAC from the card's label or the BMC's inventory (`ipmitool lan print`)",
    );
}

/** Refuses the network or broadcast address of any of `networks` given to a machine. */
export function checkHostAddress(
  ip: string,
  networks: readonly (Cidr | undefined)[],
  path: PathSegment[],
  report: Report,
): void {
  for (const n of networks) {
    const role = n && reservedAddressOf(n, ip);
    if (!n || !role) continue;
    report(
      path,
      `${JSON.stringify(ip)}, the ${role} address of ${n.text}`,
      `a host address of ${n.text}, neither its network nor its broadcast address`,
      "pick a free host address of the network",
    );
    return;
  }
}
