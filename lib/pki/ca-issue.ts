/**
 * Issuance from a verified CSR: the certificate takes the CSR's public key, the names the caller
 * authorises (checked against the CA's own name constraints), and the extensions of its profile.
 */
import type { CertificateAuthority } from "./ca";
import { encodeCertificate, keyIdentifierOfDer, type IssueInternals } from "./ca-encode";
import { randomSerial } from "./ca-sign";
import { toPem } from "./asn";
import { parseCsr } from "./csr";
import { PkiError } from "./errors";
import { firstNameOutside, normaliseDnsName, normaliseIp, parseCidr, type NameScope } from "./names";
import {
  caNameProblem,
  dataCenterOfCa,
  identityHost,
  identityUri,
  kindsOfCa,
  leafNameProblem,
} from "./identity";
import {
  LEAF_KINDS,
  profileFor,
  resolveLifetimeSeconds,
  resolveValidityDays,
  MAX_BACKDATE_MS,
  type LeafKind,
  type Profile,
  type ProfileName,
} from "./profiles";

/** What the caller (operator, site CA service after checking an enrollment token) allows the CSR to get. */
export interface Authorisation {
  /** Subject CN; a CSR asking for another CN is refused. @default - the CSR's CN */
  readonly commonName?: string;
  /** The DNS names the certificate carries. @default - the CSR's requested names, if the profile allows them */
  readonly dnsNames?: readonly string[];
  /** The IP addresses the certificate carries. @default - the CSR's requested addresses, if allowed */
  readonly ipAddresses?: readonly string[];
  /**
   * Only for the issuing profile: the data center's DNS zone (exactly one, `<dc>.<domain>`), its IP
   * networks, and the kinds of leaf it may issue (a site's online CA: computer and service only).
   */
  readonly nameScope?: {
    readonly dnsZones: readonly string[];
    readonly ipNetworks?: readonly string[];
    /** @default - every leaf kind */
    readonly kinds?: readonly LeafKind[];
  };
  /** @default - the profile's validity; never beyond the CA's own notAfter */
  readonly validityDays?: number;
  /**
   * Only for short-lived profiles (job): lifetime in seconds, 60 to the profile's maxLifetimeSeconds.
   * @default - the profile's maxLifetimeSeconds
   */
  readonly lifetimeSeconds?: number;
  readonly organization?: string;
}

export interface IssueOptions {
  /** @default - the current time */
  readonly now?: Date;
}

export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly profile: ProfileName;
}

/** Issues a certificate of `profileName` from a PEM CSR, as `authorisation` allows. */
export function issueFromCsr(
  ca: CertificateAuthority,
  profileName: ProfileName,
  csrPem: string | Buffer,
  authorisation: Authorisation = {},
  opts: IssueOptions = {},
): IssuedCertificate {
  return issueFromCsrWith({}, ca, profileName, csrPem, authorisation, opts);
}

/** issueFromCsr with internal knobs; not part of the public API (lib/pki/index.ts does not export it). */
export function issueFromCsrWith(
  internals: IssueInternals,
  ca: CertificateAuthority,
  profileName: ProfileName,
  csrPem: string | Buffer,
  authorisation: Authorisation = {},
  opts: IssueOptions = {},
): IssuedCertificate {
  const profile = profileFor(profileName);
  if (profile.name === "root")
    throw new PkiError("unknown-kind", "a root CA is self-signed (createRootCa), not issued from a CSR");
  checkSignerFits(ca, profile);
  const csr = parseCsr(csrPem);
  if (!profile.allowedKeys.includes(csr.keyKind)) {
    throw new PkiError(
      "weak-key",
      `profile ${profile.name} does not allow ${csr.keyKind} keys; allowed: ${profile.allowedKeys.join(", ")}`,
    );
  }
  const names = resolveNames(profile, csr, authorisation);
  const caProblem = profile.ca ? caNameProblem(names.commonName) : undefined;
  if (caProblem) throw new PkiError("name-not-authorised", caProblem);
  const scope = profile.name === "issuing" ? resolveScope(authorisation) : undefined;
  const uris = profile.ca ? [] : [leafIdentityUri(ca, profile.name as LeafKind, names.commonName)];
  if (ca.info.nameScope) {
    const outside = firstNameOutside(ca.info.nameScope, names.dnsNames, names.ipAddresses, uris);
    if (outside !== undefined) {
      throw new PkiError(
        "name-not-permitted",
        `name "${outside}" is outside what CA "${ca.info.commonName}" may certify (${describeScope(ca.info.nameScope)})`,
      );
    }
  }
  const now = opts.now ?? new Date();
  const days = resolveValidityDays(authorisation.validityDays, profile);
  const seconds = resolveLifetimeSeconds(authorisation.lifetimeSeconds, profile);
  const lifetimeMs = seconds === undefined ? days * 86_400_000 : seconds * 1000;
  // Backdated for clocks a few minutes behind; verifyIdentity allows a short-lived profile's span
  // to exceed its maximum lifetime by exactly this.
  const notBefore = new Date(now.getTime() - MAX_BACKDATE_MS);
  const notAfter = new Date(Math.min(now.getTime() + lifetimeMs, ca.info.notAfter.getTime()));
  const serial = internals.serial ?? randomSerial();
  const subjectKeyId = keyIdentifierOfDer(csr);
  const cert = encodeCertificate(internals, ca, profile, {
    serial,
    notBefore,
    notAfter,
    commonName: names.commonName,
    organization: authorisation.organization,
    csr,
    subjectKeyId,
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses,
    uris,
    scope,
  });
  return {
    certificatePem: toPem(cert, "CERTIFICATE"),
    serial: serial.toString("hex"),
    notBefore,
    notAfter,
    profile: profile.name,
  };
}

/**
 * The identity URI of a new leaf, after checking that this CA speaks for a data center, may issue this
 * kind, and that the name is a plain name within the data center's scope.
 */
function leafIdentityUri(ca: CertificateAuthority, kind: LeafKind, commonName: string): string {
  const dc = dataCenterOfCa(ca.info);
  if (typeof dc === "string")
    throw new PkiError("bad-input", `${dc}; re-issue it with \`zeroroot pki sign --kind issuing\``);
  if (!kindsOfCa(ca.info, dc.zone).includes(kind)) {
    const may = kindsOfCa(ca.info, dc.zone);
    throw new PkiError(
      "name-not-permitted",
      `CA "${ca.info.commonName}" may not issue ${kind} certificates (its name constraints permit ${may.length ? may.join(", ") : "no kind"}; URI host ${identityHost(kind, dc.zone)} is not among them)`,
    );
  }
  const problem = leafNameProblem(kind, commonName, dc.dataCenter, dc.zone);
  if (problem) throw new PkiError("name-not-authorised", problem);
  return identityUri(kind, dc.zone, commonName);
}

function checkSignerFits(ca: CertificateAuthority, profile: Profile): void {
  if (profile.name === "issuing" && !ca.info.selfSigned) {
    throw new PkiError(
      "bad-input",
      `an issuing CA must be signed by the root; "${ca.info.commonName}" is not a root`,
    );
  }
  if (profile.name !== "issuing" && ca.info.selfSigned) {
    throw new PkiError(
      "bad-input",
      `${profile.name} certificates are issued by a data center's issuing CA, not by the root "${ca.info.commonName}"`,
    );
  }
}

function resolveNames(profile: Profile, csr: ReturnType<typeof parseCsr>, auth: Authorisation) {
  const commonName = auth.commonName ?? csr.commonName;
  if (!commonName)
    throw new PkiError("bad-csr", "the CSR has no common name and the authorisation gives none");
  if (auth.commonName !== undefined && csr.commonName !== undefined && csr.commonName !== auth.commonName) {
    throw new PkiError(
      "name-not-authorised",
      `the CSR asks for CN "${csr.commonName}" but only "${auth.commonName}" is authorised`,
    );
  }
  const dnsNames = (auth.dnsNames ?? csr.dnsNames).map((n) => normaliseDnsName(n, "dnsNames"));
  const ipAddresses = (auth.ipAddresses ?? csr.ipAddresses).map((n) => normaliseIp(n, "ipAddresses"));
  const extraDns = csr.dnsNames.find((n) => !dnsNames.includes(n));
  const extraIp = csr.ipAddresses.find((n) => !ipAddresses.includes(n));
  if (extraDns ?? extraIp)
    throw new PkiError(
      "name-not-authorised",
      `the CSR asks for "${extraDns ?? extraIp}", which is not authorised for it`,
    );
  if (!profile.allowDns && dnsNames.length)
    throw new PkiError(
      "name-not-authorised",
      `${profile.name} certificates carry no DNS names (got "${dnsNames[0]}")`,
    );
  if (!profile.allowIp && ipAddresses.length)
    throw new PkiError(
      "name-not-authorised",
      `${profile.name} certificates carry no IP addresses (got "${ipAddresses[0]}")`,
    );
  if (profile.nodeBound && (dnsNames.length !== 1 || ipAddresses.length > 1))
    throw new PkiError(
      "name-not-authorised",
      `${profile.name} certificates name one node: exactly one DNS name and at most one IP address (got ${dnsNames.length} and ${ipAddresses.length})`,
    );
  return { commonName, dnsNames, ipAddresses };
}

function resolveScope(auth: Authorisation): NameScope {
  const s = auth.nameScope;
  if (!s || s.dnsZones.length !== 1)
    throw new PkiError(
      "bad-input",
      "an issuing CA needs nameScope.dnsZones with exactly one zone, its data center's (e.g. dc1.zeroroot.example): the data center is read from it",
    );
  const ipNetworks = (s.ipNetworks ?? []).map((n) => (parseCidr(n, "nameScope.ipNetworks"), n));
  const zone = normaliseDnsName(s.dnsZones[0], "nameScope.dnsZones");
  if (!/^[a-z][a-z0-9-]{0,62}\./.test(zone))
    throw new PkiError(
      "bad-input",
      `nameScope.dnsZones: "${zone}" must start with the data center id, e.g. dc1.zeroroot.example`,
    );
  const kinds = s.kinds ?? LEAF_KINDS;
  const unknown = kinds.find((k) => !LEAF_KINDS.includes(k));
  if (unknown !== undefined || kinds.length === 0)
    throw new PkiError(
      "bad-input",
      `nameScope.kinds: "${String(unknown ?? "")}" is not allowed; allowed: a non-empty list of ${LEAF_KINDS.join(", ")}`,
    );
  return {
    dnsZones: [zone],
    ipNetworks,
    excludeAllIps: ipNetworks.length === 0,
    uriHosts: kinds.map((k) => identityHost(k, zone)),
  };
}

export function describeScope(scope: NameScope): string {
  const ips = scope.ipNetworks.length ? scope.ipNetworks.join(", ") : "no IP addresses";
  return `DNS under ${scope.dnsZones.join(", ") || "anything"}; IPs in ${ips}`;
}
