/**
 * Per-user egress carried by the signed desired state, and the file the node agent hands to PID 1.
 *
 * The stack program resolves what an instance's owner may reach (grants.ts: datastores of the
 * owner's grants, the owner's cluster members here and in other data centers) and writes it into
 * the instance's parameters as `zeroroot.egress` (`10.1.0.12:8786 [fd00::5]:8800`), next to
 * `zeroroot.owner`. Both are in the signed document, so the agent applies nothing the signer did not
 * decide. The agent turns the list into rule lines of one fixed shape (`renderPartitionEgressRules`),
 * writes them to a file of its own and asks PID 1 to load them for the partition; PID 1
 * (agents/init/init_egress.py) parses every line again and builds the nftables text itself.
 */
import { isIPv4 } from "node:net";
import { EGRESS_LIMITS, EgressInputError, normaliseEndpoints, type EgressEndpoint } from "./egress";

/** The parameter the agent reads for the owner of an instance's partition. */
export const OWNER_PARAMETER = "zeroroot.owner";

/** The instance parameter that lists the endpoints its partition may open connections to. */
export const EGRESS_PARAMETER = "zeroroot.egress";

/**
 * Longest rules file PID 1 reads: 512 endpoints of the longest line
 * (`meta skuid 3099 ip6 daddr <45> tcp dport 65535 accept`, 85 bytes) fit with room.
 */
export const EGRESS_RULES_MAX_BYTES = 64 * 1024;

const endpointText = (e: EgressEndpoint) =>
  isIPv4(e.address) ? `${e.address}:${e.port}` : `[${e.address}]:${e.port}`;

/** Sorted, unique, canonical: the same grants give the same parameter (and so the same document). */
export function formatEgressParameter(endpoints: readonly EgressEndpoint[]): string {
  return normaliseEndpoints(endpoints, "endpoints").map(endpointText).join(" ");
}

/**
 * The endpoints of a `zeroroot.egress` value; an EgressInputError naming `where` and the entry for
 * anything else (bounded before it is split: the value is read from a document, not trusted for size).
 */
export function parseEgressParameter(value: unknown, where: string): EgressEndpoint[] {
  const maxChars = EGRESS_LIMITS.endpointsPerOwner * 54;
  if (typeof value !== "string" || value.length > maxChars)
    throw new EgressInputError(
      where,
      typeof value === "string"
        ? `${value.length} characters; at most ${maxChars}`
        : "not a string; allowed: space-separated address:port entries such as 10.1.0.12:8786",
    );
  const items = value === "" ? [] : value.split(" ");
  if (items.length > EGRESS_LIMITS.endpointsPerOwner)
    throw new EgressInputError(
      where,
      `${items.length} endpoints; at most ${EGRESS_LIMITS.endpointsPerOwner}`,
    );
  return normaliseEndpoints(
    items.map((item, i) => {
      const m = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|([0-9.]{7,15})):(\d{1,5})$/.exec(item);
      if (!m)
        throw new EgressInputError(
          `${where}[${i}]`,
          `got "${item.slice(0, 60).replace(/[^\x20-\x7e]/g, "?")}"; allowed: address:port such as 10.1.0.12:8786 or [fd00::5]:8786`,
        );
      return { address: m[1] ?? m[2], port: Number(m[3]) };
    }),
    where,
  );
}

/**
 * The rules file PID 1 loads for one partition: one `meta skuid U ip daddr A tcp dport P accept`
 * line per endpoint (`ip6 daddr` for IPv6), nothing else. PID 1 accepts exactly this shape, adds
 * the counted drop itself, and refuses the whole file on the first line that differs.
 */
export function renderPartitionEgressRules(uid: number, endpoints: readonly EgressEndpoint[]): string {
  const text = normaliseEndpoints(endpoints, `uid ${uid}`)
    .map(
      (e) =>
        `meta skuid ${uid} ${isIPv4(e.address) ? "ip" : "ip6"} daddr ${e.address} tcp dport ${e.port} accept\n`,
    )
    .join("");
  if (Buffer.byteLength(text) > EGRESS_RULES_MAX_BYTES)
    throw new EgressInputError(
      `uid ${uid}`,
      `rules of ${Buffer.byteLength(text)} bytes; at most ${EGRESS_RULES_MAX_BYTES}`,
    );
  return text;
}
