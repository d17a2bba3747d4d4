/**
 * Identity: who a verified certificate speaks for, as the triple (issuing data center, kind, name).
 *
 * Every authorisation decision in zeroroot takes this triple, never a common name alone, so that a
 * compromised or misbehaving data center cannot act as anything of another one. The triple is bound
 * into X.509 itself, so that openssl, etcd and the datastores enforce the same scoping:
 *
 * - an issuing CA permits exactly one DNS zone, `<dc>.<domain>`; the data center is its first label,
 *   vouched for by the root's signature;
 * - it permits one URI host per kind it may issue (`computer.<dc>.<domain>`, ...): name constraints
 *   (RFC 5280 4.2.1.10) that every verifier applies, so a site's online CA that may only issue
 *   computer and service certificates cannot mint a software signer, whatever its code does;
 * - a leaf carries exactly one identity URI `zeroroot://<kind>.<dc>.<domain>/<name>` whose name equals
 *   its CN, and exactly the extended key usages of its kind's profile.
 *
 * The model is SPIFFE's (an identity URI inside a trust domain), with one trust domain per data center.
 */
import type { CertInfo } from "./cert";
import { ekuOid } from "./oids";
import { dnsInZone, uriHost } from "./names";
import { LEAF_KINDS, MAX_BACKDATE_MS, PROFILES, type LeafKind } from "./profiles";

export const IDENTITY_SCHEME = "zeroroot";
/** ub-common-name of X.509 (RFC 5280 appendix A). */
export const NAME_MAX_LENGTH = 64;
/** A plain name: lower-case letters, digits, '.', '_' and '-', starting and ending with a letter or digit. */
const PLAIN_NAME = /^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/;

export interface Identity {
  /** The data center whose issuing CA signed the leaf (from that CA's root-signed name constraints). */
  readonly dataCenter: string;
  readonly kind: LeafKind;
  /** The leaf's name: its CN, equal to the name in its identity URI. */
  readonly name: string;
}

/** The one textual form of an identity, as configuration lists write it: `dc1/user/alice`. */
export function formatIdentity(id: Identity): string {
  return `${id.dataCenter}/${id.kind}/${id.name}`;
}

export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.dataCenter === b.dataCenter && a.kind === b.kind && a.name === b.name;
}

/**
 * Parses `dc/kind/name`. Returns a message (what was received, what is allowed) instead of throwing,
 * so that each caller can put it under its own config key path.
 */
export function parseIdentity(text: unknown): Identity | string {
  const allowed = `allowed: "<data center>/<kind>/<name>" with kind one of ${LEAF_KINDS.join(", ")}, e.g. "dc1/user/alice"`;
  if (typeof text !== "string") return `expected a string, got ${typeof text}; ${allowed}`;
  const parts = text.split("/");
  if (parts.length !== 3) return `"${escapeForMessage(text)}" is not an identity; ${allowed}`;
  const [dataCenter, kind, name] = parts;
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(dataCenter))
    return `"${escapeForMessage(dataCenter)}" is not a data center id; ${allowed}`;
  if (!(LEAF_KINDS as readonly string[]).includes(kind))
    return `"${escapeForMessage(kind)}" is not a certificate kind; ${allowed}`;
  const problem = leafNameProblem(kind as LeafKind, name, dataCenter);
  if (problem) return problem;
  return { dataCenter, kind: kind as LeafKind, name };
}

/** The identity URI a leaf of `kind` named `name` carries under the data center zone `zone`. */
export function identityUri(kind: LeafKind, zone: string, name: string): string {
  return `${IDENTITY_SCHEME}://${kind}.${zone}/${name}`;
}

/** The URI host an issuing CA permits for leaves of `kind`. */
export function identityHost(kind: LeafKind, zone: string): string {
  return `${kind}.${zone}`;
}

/**
 * User names the datastores keep for themselves. PostgreSQL maps a certificate's CN, not its identity
 * URI, to a role of the same name (docs/datastores.md): a user certificate named like one of these
 * would reach the platform's own role (`replicator`, PostgreSQL's built-in and reserved names). `zr-`
 * is the prefix of the platform's OS users (a partition user `zr-p<NNN>` is its instance's database
 * superuser), `pg_` PostgreSQL's. (MariaDB accounts are whole identities, `dc1/user/alice`, so
 * no CN alone names one; etcd's `root` user is a real user certificate and stays allowed.)
 */
export const RESERVED_USER_NAMES: readonly string[] = [
  "replicator",
  "postgres",
  "public",
  "none",
  "current_user",
  "session_user",
  "current_role",
];
const RESERVED_USER_PREFIXES: readonly string[] = ["zr-", "pg_"];

/**
 * Why `name` may not be the name of a `kind` certificate of data center `dataCenter` (zone `zone`,
 * when known), or undefined when it may. Computers are named `<dc>-...`; a service name with a dot is
 * a DNS name and must lie in the data center's zone. A user name has no dot, so it can never equal
 * a service's DNS name (the replica's, which PostgreSQL maps to `replicator`), and is none of the
 * datastores' own names (RESERVED_USER_NAMES).
 */
export function leafNameProblem(
  kind: LeafKind,
  name: string,
  dataCenter: string,
  zone?: string,
): string | undefined {
  const shown = escapeForMessage(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  if (name.length === 0 || name.length > NAME_MAX_LENGTH || !PLAIN_NAME.test(name))
    return `name "${shown}" (${name.length} characters) is not a plain name; allowed: 1-${NAME_MAX_LENGTH} of a-z 0-9 . _ -, starting and ending with a letter or digit`;
  if (kind === "user" && name.includes("."))
    return `user name "${shown}" has a dot; user names have none, so that no user certificate is named like a service (whose names are DNS names); use "-" or "_" instead`;
  if (
    kind === "user" &&
    (RESERVED_USER_NAMES.includes(name) || RESERVED_USER_PREFIXES.some((p) => name.startsWith(p)))
  )
    return `user name "${shown}" is reserved for the platform's own database and system users (${RESERVED_USER_NAMES.join(", ")}, and names starting with ${RESERVED_USER_PREFIXES.join(" or ")}); choose another name`;
  if (kind === "computer" && !name.startsWith(`${dataCenter}-`))
    return `computer name "${shown}" is not of data center ${dataCenter}; computers of ${dataCenter} are named "${dataCenter}-<id>"`;
  if (kind === "job") {
    const owner = jobOwnerOf(name);
    if (typeof owner === "string") return owner;
  }
  if (kind === "service" && zone !== undefined && name.includes(".") && !dnsInZone(name, zone))
    return `service name "${shown}" is a DNS name outside ${zone}, the zone of data center ${dataCenter}`;
  return undefined;
}

/**
 * The name of a job certificate acting for `owner` (a user): `<owner's data center>.<user name>`.
 * The owner's data center is in the name because the certificate is issued by the worker's data
 * center, which may be another; the dot, which no user name and no data center id holds, splits it
 * unambiguously and keeps it apart from every user's CN (user names have no dot).
 */
export function jobName(owner: Identity): string {
  return `${owner.dataCenter}.${owner.name}`;
}

/** The user a job certificate's name acts for, or why the name is not a job name. */
export function jobOwnerOf(name: string): Identity | string {
  const shown = escapeForMessage(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  const m = /^([a-z][a-z0-9-]{0,62})\.([^.]+)$/.exec(name);
  const problem = m ? leafNameProblem("user", m[2], m[1]) : "it is not <data center>.<user>";
  if (!m || problem)
    return `job name "${shown}" is not allowed (${problem ?? ""}); a job certificate is named "<owner's data center>.<user name>", e.g. "dc1.alice"`;
  return { dataCenter: m[1], kind: "user", name: m[2] };
}

/**
 * Why `name` may not be the CN of a CA (root or issuing), or undefined when it may: CA names are
 * chosen by the ceremony's operator and may hold spaces ("dc1.zeroroot.example issuing CA"), but never
 * control or non-ASCII characters, which would forge log lines or hide look-alikes.
 */
export function caNameProblem(name: string): string | undefined {
  if (
    name.length >= 1 &&
    name.length <= NAME_MAX_LENGTH &&
    /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(name)
  )
    return undefined;
  const shown = escapeForMessage(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  return `CA name "${shown}" (${name.length} characters) is not allowed; allowed: 1-${NAME_MAX_LENGTH} printable ASCII characters, no leading or trailing space`;
}

/** The data center and zone an issuing CA certificate speaks for, or a reason why it speaks for none. */
export function dataCenterOfCa(ca: CertInfo): { dataCenter: string; zone: string } | string {
  const zones = ca.nameScope?.dnsZones ?? [];
  if (!ca.isCa || zones.length !== 1)
    return `"${escapeForMessage(ca.commonName)}" is not a data center's issuing CA (it must permit exactly one DNS zone, <dc>.<domain>)`;
  const zone = zones[0].toLowerCase();
  const dataCenter = zone.split(".")[0];
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(dataCenter) || !zone.includes("."))
    return `zone "${escapeForMessage(zone)}" of "${escapeForMessage(ca.commonName)}" does not start with a data center id`;
  return { dataCenter, zone };
}

/** Kinds an issuing CA may issue: the kinds whose identity host its name constraints permit. */
export function kindsOfCa(ca: CertInfo, zone: string): LeafKind[] {
  const hosts = (ca.nameScope?.uriHosts ?? []).map((h) => h.toLowerCase());
  return LEAF_KINDS.filter((k) => hosts.includes(identityHost(k, zone)));
}

export type IdentityFailure = "no-identity" | "wrong-data-center" | "wrong-kind" | "wrong-name";

export type IdentityResult =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly reason: IdentityFailure; readonly detail: string };

const refuse = (reason: IdentityFailure, detail: string): IdentityResult => ({ ok: false, reason, detail });

/**
 * The identity of a verified path (leaf first, then its issuing CA; the root is the caller's anchor).
 * Call only on a path that verifyCertificate accepted: this reads identity, it does not check signatures.
 */
export function identityOfPath(path: readonly CertInfo[]): IdentityResult {
  const [leaf, issuing] = path;
  if (path.length !== 2 || leaf.isCa)
    return refuse(
      "no-identity",
      `a zeroroot identity is a leaf issued by a data center's issuing CA directly under the root; got a path of ${path.length}`,
    );
  const dc = dataCenterOfCa(issuing);
  if (typeof dc === "string") return refuse("no-identity", dc);
  const ours = leaf.uris.filter((u) => u.toLowerCase().startsWith(`${IDENTITY_SCHEME}:`));
  if (ours.length !== 1)
    return refuse(
      "no-identity",
      `"${escapeForMessage(leaf.commonName)}" carries ${ours.length} zeroroot identity URIs; exactly one is required`,
    );
  const uri = ours[0];
  const host = uriHost(uri);
  const m = /^zeroroot:\/\/[^/]+\/([^/?#]+)$/.exec(uri);
  const kind = host?.split(".")[0] as LeafKind | undefined;
  if (
    !host ||
    !m ||
    !kind ||
    !(LEAF_KINDS as readonly string[]).includes(kind) ||
    host !== identityHost(kind, dc.zone)
  )
    return refuse(
      "no-identity",
      `identity URI "${escapeForMessage(uri)}" is not zeroroot://<kind>.${dc.zone}/<name>`,
    );
  if (!kindsOfCa(issuing, dc.zone).includes(kind))
    return refuse(
      "wrong-kind",
      `"${escapeForMessage(issuing.commonName)}" may not issue ${kind} certificates`,
    );
  const name = m[1];
  // One textual form only: no port, no upper case, no percent-escapes that read differently elsewhere.
  if (uri !== identityUri(kind, dc.zone, name))
    return refuse(
      "no-identity",
      `identity URI "${escapeForMessage(uri)}" is not in the form zeroroot://${kind}.${dc.zone}/<name>`,
    );
  if (leaf.commonName !== name)
    return refuse(
      "wrong-name",
      `the CN "${escapeForMessage(leaf.commonName)}" differs from the identity URI's name "${escapeForMessage(name)}"`,
    );
  const problem = leafNameProblem(kind, name, dc.dataCenter, dc.zone);
  if (problem) return refuse("wrong-name", problem);
  const max = PROFILES[kind].maxLifetimeSeconds;
  if (max !== undefined && leaf.notAfter.getTime() - leaf.notBefore.getTime() > max * 1000 + MAX_BACKDATE_MS)
    return refuse(
      "wrong-kind",
      `"${escapeForMessage(name)}" is a ${kind} certificate valid for ${Math.round((leaf.notAfter.getTime() - leaf.notBefore.getTime()) / 1000)} s; ${kind} certificates live at most ${max} s`,
    );
  const want = PROFILES[kind].extendedKeyUsage.map(ekuOid).sort();
  const have = [...leaf.extendedKeyUsage].sort();
  if (want.length !== have.length || want.some((o, i) => o !== have[i]))
    return refuse(
      "wrong-kind",
      `"${escapeForMessage(name)}" claims kind ${kind} but its extended key usage is not exactly ${PROFILES[kind].extendedKeyUsage.join(", ")}`,
    );
  return { ok: true, identity: { dataCenter: dc.dataCenter, kind, name } };
}

/** What a verifier accepts; every field given must match. */
export interface IdentityExpectation {
  readonly dataCenters?: readonly string[];
  readonly kinds?: readonly LeafKind[];
}

/** Checks an identity against an expectation; a message when it does not match. */
export function identityMismatch(id: Identity, expect: IdentityExpectation): IdentityResult | undefined {
  if (expect.dataCenters && !expect.dataCenters.includes(id.dataCenter))
    return refuse(
      "wrong-data-center",
      `${formatIdentity(id)} was issued by data center ${id.dataCenter}; only ${expect.dataCenters.join(", ")} is accepted here`,
    );
  if (expect.kinds && !expect.kinds.includes(id.kind))
    return refuse(
      "wrong-kind",
      `${formatIdentity(id)} is a ${id.kind} certificate; only ${expect.kinds.join(", ")} is accepted here`,
    );
  return undefined;
}

/** Quotes untrusted text for a message or a log line: control and non-ASCII characters escaped. */
export function escapeForMessage(text: string): string {
  return JSON.stringify(text)
    .slice(1, -1)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
