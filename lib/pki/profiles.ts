/**
 * Certificate profiles: what each kind of certificate in the hierarchy may be. The profile, not the
 * CSR, decides extensions; a CSR only contributes its public key and the names the caller authorises.
 */
import type { Eku } from "./asn";
import { PkiError } from "./errors";
import type { KeyKind } from "./keys";

export type LeafKind = "user" | "computer" | "software" | "service" | "job";
export type ProfileName = "root" | "issuing" | LeafKind;
export const LEAF_KINDS: readonly LeafKind[] = ["user", "computer", "software", "service", "job"];

/**
 * The most a data center's online CA (the site, on a networked management server) may be allowed
 * to issue; the root grants a subset (provider default: computer and service; `job` is an opt-in).
 * Never users or software signers: a compromised site would then be any operator. `job` is a user's
 * task acting for its owner for minutes, accepted only by datastores the owner has grants on, from
 * the node the certificate names (docs/compute.md, "Job certificates").
 */
export const ONLINE_CA_PERMITTED_KINDS: readonly LeafKind[] = ["computer", "service", "job"];
export const PROFILE_NAMES: readonly ProfileName[] = ["root", "issuing", ...LEAF_KINDS];

export interface Profile {
  readonly name: ProfileName;
  readonly ca: boolean;
  /** basicConstraints pathLenConstraint for CAs; undefined = unlimited. */
  readonly pathLen?: number;
  readonly extendedKeyUsage: readonly Eku[];
  readonly allowedKeys: readonly KeyKind[];
  readonly validityDays: number;
  /** Renew (replace) this many days before notAfter. */
  readonly renewBeforeDays: number;
  /** Whether DNS names / IP addresses may appear in the subjectAltName. */
  readonly allowDns: boolean;
  readonly allowIp: boolean;
  /**
   * For certificates that live minutes, not days: the longest lifetime in seconds, whatever
   * validityDays says. Issuance caps notAfter at it and verifyIdentity refuses a longer one.
   * @default - no cap below validityDays
   */
  readonly maxLifetimeSeconds?: number;
  /**
   * Names one node: exactly one DNS name (the node's host name) and at most one IP address.
   * @default false
   */
  readonly nodeBound?: boolean;
}

/** Issuance backdates notBefore by this (clock skew); a lifetime cap is checked with it added. */
export const MAX_BACKDATE_MS = 300_000;

const ALL_KEYS: readonly KeyKind[] = ["ec-p256", "ec-p384", "rsa-3072", "rsa-4096"];

/**
 * Validities: long-lived offline root, issuing CAs renewed on the management servers well within the
 * root's life, short-lived service certificates (renewed automatically by the node agent), and yearly
 * user/computer certificates. Renewal windows are about a third of the life for short certificates.
 */
export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  root: {
    name: "root",
    ca: true,
    pathLen: 1,
    extendedKeyUsage: [],
    allowedKeys: ALL_KEYS,
    validityDays: 7300,
    renewBeforeDays: 730,
    allowDns: false,
    allowIp: false,
  },
  issuing: {
    name: "issuing",
    ca: true,
    pathLen: 0,
    extendedKeyUsage: [],
    allowedKeys: ALL_KEYS,
    validityDays: 1825,
    renewBeforeDays: 365,
    allowDns: false,
    allowIp: false,
  },
  user: {
    name: "user",
    ca: false,
    extendedKeyUsage: ["clientAuth"],
    allowedKeys: ALL_KEYS,
    validityDays: 365,
    renewBeforeDays: 30,
    allowDns: false,
    allowIp: false,
  },
  computer: {
    name: "computer",
    ca: false,
    extendedKeyUsage: ["clientAuth"],
    allowedKeys: ALL_KEYS,
    validityDays: 365,
    renewBeforeDays: 30,
    allowDns: true,
    allowIp: false,
  },
  software: {
    name: "software",
    ca: false,
    extendedKeyUsage: ["codeSigning"],
    allowedKeys: ALL_KEYS,
    validityDays: 730,
    renewBeforeDays: 60,
    allowDns: false,
    allowIp: false,
  },
  service: {
    name: "service",
    ca: false,
    extendedKeyUsage: ["serverAuth", "clientAuth"],
    allowedKeys: ALL_KEYS,
    validityDays: 90,
    renewBeforeDays: 30,
    allowDns: true,
    allowIp: true,
  },
  // A job of a user on a worker node: names the owner (`<owner's dc>.<user>`) and the node (its
  // computer id in O, its host name as the one DNS SAN, its address as IP SAN); minutes, renewed by
  // the job's helper, never by a Pulumi resource. The DNS SAN is also what keeps verifiers (OpenSSL
  // included) from reading the dotted CN as a host name against the CA's name constraints.
  job: {
    name: "job",
    ca: false,
    extendedKeyUsage: ["clientAuth"],
    allowedKeys: ALL_KEYS,
    validityDays: 1,
    renewBeforeDays: 0,
    allowDns: true,
    allowIp: true,
    maxLifetimeSeconds: 3600,
    nodeBound: true,
  },
};

export function profileFor(kind: string): Profile {
  const p = (PROFILES as Record<string, Profile | undefined>)[kind];
  if (!p)
    throw new PkiError(
      "unknown-kind",
      `certificate kind "${kind}" is unknown; allowed: ${PROFILE_NAMES.join(", ")}`,
    );
  return p;
}

/** True when a certificate valid until `notAfter` is inside its profile's renewal window at `now`. */
export function renewalDue(
  notAfter: Date,
  profile: Profile,
  now: Date = new Date(),
  renewBeforeDays = profile.renewBeforeDays,
): boolean {
  return now.getTime() >= notAfter.getTime() - renewBeforeDays * 86_400_000;
}

/** Validity in days: a whole number from 1 to the profile's maximum; @default - the profile's validity. */
export function resolveValidityDays(asked: number | undefined, profile: Profile): number {
  if (asked === undefined) return profile.validityDays;
  if (!Number.isInteger(asked) || asked < 1 || asked > profile.validityDays)
    throw new PkiError(
      "bad-input",
      `validityDays ${String(asked)} is not allowed for ${profile.name} certificates; allowed: a whole number from 1 to ${profile.validityDays}`,
    );
  return asked;
}

/** The shortest lifetime a profile with maxLifetimeSeconds (a job's) may be asked for. */
export const MIN_LIFETIME_SECONDS = 60;

/**
 * Lifetime in seconds of a profile with maxLifetimeSeconds: a whole number from MIN_LIFETIME_SECONDS
 * to that maximum;
 * @default - the maximum. Undefined for profiles that live in days.
 */
export function resolveLifetimeSeconds(asked: number | undefined, profile: Profile): number | undefined {
  const max = profile.maxLifetimeSeconds;
  if (max === undefined) {
    if (asked === undefined) return undefined;
    throw new PkiError(
      "bad-input",
      `lifetimeSeconds is only for short-lived profiles; ${profile.name} certificates take validityDays`,
    );
  }
  if (asked === undefined) return max;
  if (!Number.isInteger(asked) || asked < MIN_LIFETIME_SECONDS || asked > max)
    throw new PkiError(
      "bad-input",
      `lifetimeSeconds ${String(asked)} is not allowed for ${profile.name} certificates; allowed: a whole number from ${MIN_LIFETIME_SECONDS} to ${max}`,
    );
  return asked;
}
