/**
 * MariaDB/Galera service parameters: what a data-center stack gives the `mariadb-galera` release
 * (zeroroot:services[].parameters), and the naming of database accounts. Pure. The grants are not
 * parameters of the service: they come from `zeroroot:dataAccess` as the `access` parameter every
 * datastore instance gets (lib/fleet/datastore-parameters.ts). The release's reader on the node
 * (lab/releases/mariadb-galera/galera_conf.py) accepts exactly what this writes and refuses the rest.
 *
 * ```ts
 * const parameters = galeraParameters({
 *   cluster: "zeroroot", peers: ["10.77.1.10", "10.77.2.10", "10.77.3.10"], bootstrap: "10.77.1.10",
 *   userIssuers: { dc1: mariadbDn(new X509Certificate(dc1UserCaPem).subject), dc2: ..., dc3: ... },
 * });
 * ```
 */
import { isIP } from "node:net";
import { escapeForMessage, formatIdentity, type Identity } from "../pki/identity";

export class GaleraConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GaleraConfigError";
  }
}

export interface GaleraParametersInput {
  /** wsrep_cluster_name. */
  readonly cluster: string;
  /** Every member's data address, this data center's included: an odd number from 3 to 9. */
  readonly peers: readonly string[];
  /** The one member allowed to found the cluster on its first start; one of `peers`. */
  readonly bootstrap: string;
  /** Per data center, the DN (MariaDB's `/O=…/CN=…` form) of the CA that issues its user certificates. */
  readonly userIssuers: Readonly<Record<string, string>>;
  /**
   * Per data center, the DN (MariaDB's form) of its site's online CA, which issues its job
   * certificates: the ISSUER a job account requires (docs/compute.md, "Job certificates").
   * @default - none: job lines of any data center are refused by the members
   */
  readonly jobIssuers?: Readonly<Record<string, string>>;
}

/** Same bounds as the node's reader. */
export const GALERA_LIMITS = { peers: 9, issuers: 64 } as const;
const CLUSTER = /^[a-z][a-z0-9-]{0,62}$/;
const DN = /^(?:\/[A-Za-z]{1,16}=[A-Za-z0-9 ._-]{1,128}){1,8}$/;
const DC = /^[a-z][a-z0-9-]{0,62}$/;

/** The database account of a user identity: its text form, so dc1's alice and dc2's alice differ. */
export function mariadbAccountName(identity: Identity): string {
  return formatIdentity(identity);
}

/** The subject MariaDB requires of that account's certificate (lib/pki issues user certificates with the CN only). */
export function mariadbUserSubject(identity: Identity): string {
  return `/CN=${identity.name}`;
}

/**
 * MariaDB's one-line DN (`/O=zeroroot/CN=dc1.example issuing CA`) from node's X509Certificate
 * `subject`/`issuer` text (one `KEY=value` per line, most significant first).
 */
export function mariadbDn(x509Name: string): string {
  const dn = x509Name
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => `/${l}`)
    .join("");
  if (!DN.test(dn))
    throw new GaleraConfigError(
      `issuer DN "${escapeForMessage(dn)}" cannot be required by MariaDB here; allowed: /KEY=value parts of letters, digits, space, . _ -`,
    );
  return dn;
}

/** `dc1 /O=.../CN=...; dc2 ...`: the form galera.conf's user-issuers and job-issuers read. */
const issuersText = (issuers: Readonly<Record<string, string>>): string =>
  Object.entries(issuers)
    .map(([dc, dn]) => `${dc} ${dn}`)
    .join("; ");

/** A received value in a message: escaped, and cut (a huge value costs nothing to describe). */
const shown = (v: string): string => escapeForMessage(v.length > 80 ? `${v.slice(0, 77)}...` : v);

/** Validates and renders the release's parameters; throws GaleraConfigError naming the field. */
export function galeraParameters(i: GaleraParametersInput): Record<string, string> {
  const where = "mariadb-galera parameters";
  if (!CLUSTER.test(i.cluster))
    throw new GaleraConfigError(
      `${where}.cluster: "${escapeForMessage(i.cluster)}"; allowed: lower-case letters, digits and -, starting with a letter`,
    );
  i.peers.forEach((p, n) => {
    if (isIP(p) !== 4)
      throw new GaleraConfigError(`${where}.peers[${n}]: "${escapeForMessage(p)}" is not an IPv4 address`);
  });
  if (new Set(i.peers).size !== i.peers.length)
    throw new GaleraConfigError(`${where}.peers: an address is listed twice; list each member once`);
  if (i.peers.length < 3 || i.peers.length > GALERA_LIMITS.peers || i.peers.length % 2 === 0)
    throw new GaleraConfigError(
      `${where}.peers: ${i.peers.length} members; allowed: an odd number from 3 to ${GALERA_LIMITS.peers}, so that a quorum survives the loss of one data center`,
    );
  if (!i.peers.includes(i.bootstrap))
    throw new GaleraConfigError(
      `${where}.bootstrap: "${escapeForMessage(i.bootstrap)}" is not one of the peers; name the member that founds the cluster`,
    );
  for (const key of ["userIssuers", "jobIssuers"] as const) {
    const issuers = Object.entries(i[key] ?? {});
    if (issuers.length > GALERA_LIMITS.issuers)
      throw new GaleraConfigError(
        `${where}.${key}: ${issuers.length} entries; allowed: at most ${GALERA_LIMITS.issuers}, one a data center`,
      );
    const seen = new Set<string>();
    for (const [dc, dn] of issuers) {
      if (!DC.test(dc) || !DN.test(dn))
        throw new GaleraConfigError(
          `${where}.${key}.${shown(dc)}: "${shown(dn)}"; allowed: a data center id and a DN /KEY=value/... of letters, digits, space, . _ -`,
        );
      // MariaDB's REQUIRE ISSUER compares names: two data centers with one DN could pass for each other.
      if (seen.has(dn))
        throw new GaleraConfigError(
          `${where}.${key}.${dc}: "${dn}" is the DN of two data centers; each has its own CA`,
        );
      seen.add(dn);
    }
  }
  // A site CA named like a user CA could issue certificates that pass for users' (/CN=<name>).
  const userDns = new Set(Object.values(i.userIssuers));
  for (const [dc, dn] of Object.entries(i.jobIssuers ?? {}))
    if (userDns.has(dn))
      throw new GaleraConfigError(
        `${where}.jobIssuers.${dc}: "${dn}" is also a userIssuers DN; a site CA issues no user certificates`,
      );
  return {
    cluster: i.cluster,
    peers: i.peers.join(","),
    bootstrap: i.bootstrap,
    userIssuers: issuersText(i.userIssuers),
    jobIssuers: issuersText(i.jobIssuers ?? {}),
  };
}
