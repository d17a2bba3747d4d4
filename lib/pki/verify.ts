/**
 * Verification used by the node agent, the site services and the datastore front ends: chain to a
 * given root through the issuing CA, validity, EKU, name constraints and CRL revocation. Every
 * refusal is a distinct `reason`, so callers can log and alert on the cause, and tests can assert it.
 */
import * as x from "@peculiar/asn1-x509";
import { fromPemAll, pemTextLimit, type Eku } from "./asn";
import { parseCertificate, ekuOid, type CertInfo } from "./cert";
import { verifySignature } from "./csr";
import { MAX_CERT_BYTES, MAX_CHAIN_CERTS, type VerifyFailure } from "./errors";
import { firstNameOutside } from "./names";
import {
  escapeForMessage,
  identityMismatch,
  identityOfPath,
  type Identity,
  type IdentityExpectation,
  type IdentityFailure,
} from "./identity";
import { checkRevocation, parseCrls, type StaleCrl } from "./verify-crl";

export type { StaleCrl } from "./verify-crl";

export interface VerifyOptions {
  /** What the leaf is about to be used for; its EKU must list it. */
  readonly use: Eku;
  /**
   * CRLs (PEM or DER). When given, the leaf's issuer must have one here, and revoked serials are
   * refused. Of several CRLs of one issuer the newest (CRL number, then thisUpdate) decides.
   */
  readonly crls?: readonly (string | Buffer)[];
  /**
   * Whether a CRL past its nextUpdate refuses the certificate (`crl-expired`). When false the stale
   * CRL is still applied, and the result names it in `staleCrls` so that the caller can alert.
   * @default true
   */
  readonly strictCrl?: boolean;
  /** @default - the current time */
  readonly at?: Date;
}

export type VerifyResult =
  | {
      readonly ok: true;
      readonly leaf: CertInfo;
      readonly path: readonly CertInfo[];
      /** Stale CRLs that were applied because strictCrl was false; empty otherwise. */
      readonly staleCrls: readonly StaleCrl[];
    }
  | { readonly ok: false; readonly reason: VerifyFailure; readonly detail: string };

/** A certificate's CN, escaped for a message or a log line (it is untrusted text). */
const cn = (c: CertInfo): string => escapeForMessage(c.commonName);

const fail = (reason: VerifyFailure, detail: string): Extract<VerifyResult, { ok: false }> => ({
  ok: false,
  reason,
  detail,
});

/**
 * Verifies `chain` (leaf first, then any intermediates; PEM bundle or list) against the trusted `root`.
 * Never throws for a bad certificate: the refusal is the result.
 */
export function verifyCertificate(
  chain: string | Buffer | readonly (string | Buffer)[],
  root: string | Buffer,
  opts: VerifyOptions,
): VerifyResult {
  const parsed = parseChain(chain, root);
  if (!("certs" in parsed)) return parsed;
  const { certs, anchor } = parsed;
  const built = buildPath(certs[0], certs.slice(1), anchor);
  if (!("path" in built)) return built;
  const path = built.path;
  const at = opts.at ?? new Date();
  const crls = opts.crls ? parseCrls(opts.crls) : [];
  if (!Array.isArray(crls)) return crls;
  const staleCrls: StaleCrl[] = [];
  return (
    checkSignaturesAndCas(path, anchor) ??
    checkCriticalExtensions(path) ??
    checkValidity([...path, anchor], at) ??
    (opts.crls ? checkRevocation(path, anchor, crls, at, opts.strictCrl ?? true, staleCrls) : undefined) ??
    // Names before usages: a CA certifying outside its scope is the graver finding to report.
    checkNames(path, anchor) ??
    checkEku(path[0], opts.use) ??
    checkKeyUsage(path[0]) ?? { ok: true, leaf: path[0], path, staleCrls }
  );
}

/** Parses the chain and the anchor, bounding sizes and counts before any decoding. */
function parseChain(
  chain: string | Buffer | readonly (string | Buffer)[],
  root: string | Buffer,
): { certs: CertInfo[]; anchor: CertInfo } | Extract<VerifyResult, { ok: false }> {
  const items = Array.isArray(chain) ? (chain as readonly (string | Buffer)[]) : [chain as string | Buffer];
  const textLimit = pemTextLimit(MAX_CERT_BYTES) * MAX_CHAIN_CERTS;
  if (items.length > MAX_CHAIN_CERTS || items.some((c) => c.length > textLimit))
    return fail(
      "too-large",
      `a chain holds at most ${MAX_CHAIN_CERTS} certificates of at most ${MAX_CERT_BYTES} bytes`,
    );
  try {
    const blocks = items.flatMap((c) => fromPemAll(c, "CERTIFICATE"));
    if (blocks.length === 0) return fail("malformed", "no certificate given");
    if (blocks.length > MAX_CHAIN_CERTS)
      return fail(
        "too-large",
        `${blocks.length} certificates given; a chain holds at most ${MAX_CHAIN_CERTS}`,
      );
    return { certs: blocks.map((b) => parseCertificate(b)), anchor: parseCertificate(root) };
  } catch (err) {
    const e = err as Error & { code?: string };
    return fail(e.code === "too-large" ? "too-large" : "malformed", e.message);
  }
}

/** Leaf up to the certificate the root issued, picking issuers by name from the untrusted pool. */
function buildPath(
  leaf: CertInfo,
  pool: CertInfo[],
  anchor: CertInfo,
): { path: CertInfo[] } | Extract<VerifyResult, { ok: false }> {
  const path = [leaf];
  for (let cur = leaf; !cur.issuerDer.equals(anchor.subjectDer);) {
    const next = pool.find(
      (c) => c.subjectDer.equals(cur.issuerDer) && !path.includes(c) && !c.der.equals(anchor.der),
    );
    if (!next)
      return fail("untrusted-root", `"${cn(cur)}" does not chain to the trusted root "${cn(anchor)}"`);
    path.push(next);
    cur = next;
  }
  const top = path[path.length - 1];
  if (top.authorityKeyId && !top.authorityKeyId.equals(anchor.subjectKeyId)) {
    return fail(
      "untrusted-root",
      `"${cn(top)}" was issued by a different key than the trusted root "${cn(anchor)}"`,
    );
  }
  if (!signedBy(top, anchor)) {
    // Same name and key id but a signature the root did not make: a forged or foreign root.
    return fail(
      top === leaf ? "bad-signature" : "untrusted-root",
      `"${cn(top)}" is not signed by the trusted root "${cn(anchor)}"`,
    );
  }
  return { path };
}

/** Whether `issuer`'s key made the signature on `cert`. */
function signedBy(cert: CertInfo, issuer: CertInfo): boolean {
  return verifySignature(
    cert.asn.signatureAlgorithm.algorithm,
    cert.tbsDer,
    issuer.publicKey,
    Buffer.from(cert.asn.signatureValue),
  );
}

function checkSignaturesAndCas(path: readonly CertInfo[], anchor: CertInfo): VerifyResult | undefined {
  const issuers = [...path.slice(1), anchor];
  for (let i = 0; i < path.length; i++) {
    const cert = path[i];
    const issuer = issuers[i];
    if (!issuer.isCa || !issuer.keyCertSign)
      return fail("not-a-ca", `"${cn(issuer)}" is not a CA but issued "${cn(cert)}"`);
    // pathLen counts the CA certificates below the issuer, excluding the leaf.
    if (issuer.pathLen !== undefined && i > issuer.pathLen) {
      return fail("path-too-long", `"${cn(issuer)}" allows ${issuer.pathLen} CA(s) below it, found ${i}`);
    }
    if (!signedBy(cert, issuer)) {
      return fail(
        "bad-signature",
        `the signature on "${cn(cert)}" does not verify with the key of "${cn(issuer)}"`,
      );
    }
  }
  return undefined;
}

function checkValidity(certs: CertInfo[], at: Date): VerifyResult | undefined {
  for (const c of certs) {
    if (at < c.notBefore)
      return fail("not-yet-valid", `"${cn(c)}" is valid from ${c.notBefore.toISOString()}`);
    if (at > c.notAfter) return fail("expired", `"${cn(c)}" expired at ${c.notAfter.toISOString()}`);
  }
  return undefined;
}

/** Extensions this verifier processes; any other one marked critical refuses (RFC 5280 4.2). */
const KNOWN_CERT_EXTENSIONS = new Set([
  x.id_ce_basicConstraints,
  x.id_ce_keyUsage,
  x.id_ce_extKeyUsage,
  x.id_ce_subjectAltName,
  x.id_ce_nameConstraints,
  x.id_ce_subjectKeyIdentifier,
  x.id_ce_authorityKeyIdentifier,
]);

function checkCriticalExtensions(path: readonly CertInfo[]): VerifyResult | undefined {
  for (const c of path) {
    const unknown = c.criticalExtensions.find((o) => !KNOWN_CERT_EXTENSIONS.has(o));
    if (unknown)
      return fail(
        "unknown-critical-extension",
        `"${cn(c)}" has critical extension ${unknown}, which this verifier does not process`,
      );
  }
  return undefined;
}

/**
 * Every zeroroot leaf signs (TLS handshakes, releases, desired state), and every profile sets
 * digitalSignature; a leaf without it, or without keyUsage at all, was not made by zeroroot's profiles.
 */
function checkKeyUsage(leaf: CertInfo): VerifyResult | undefined {
  if (leaf.keyUsage !== undefined && (leaf.keyUsage & x.KeyUsageFlags.digitalSignature) !== 0)
    return undefined;
  return fail(
    "wrong-key-usage",
    `"${cn(leaf)}" ${leaf.keyUsage === undefined ? "has no keyUsage" : "has a keyUsage without digitalSignature"}; it cannot sign`,
  );
}

function checkEku(leaf: CertInfo, use: Eku): VerifyResult | undefined {
  if (leaf.extendedKeyUsage.includes(ekuOid(use))) return undefined;
  return fail("wrong-eku", `"${cn(leaf)}" is not for ${use} (its extended key usage does not list it)`);
}

/** Each CA's constraints apply to everything below it (RFC 5280 6.1.3 (b)). */
function checkNames(path: readonly CertInfo[], anchor: CertInfo): VerifyResult | undefined {
  const cas = [...path.slice(1), anchor];
  for (let i = 0; i < cas.length; i++) {
    const scope = cas[i].nameScope;
    if (!scope) continue;
    for (const cert of path.slice(0, i + 1)) {
      // Like openssl, a CN that looks like a host name counts as a DNS name when there is no DNS SAN.
      const dns =
        cert.dnsNames.length === 0 && cert.commonName.includes(".") && !cert.isCa
          ? [cert.commonName.toLowerCase()]
          : cert.dnsNames;
      const outside = firstNameOutside(scope, dns, cert.ipAddresses, cert.uris);
      if (outside !== undefined)
        return fail(
          "name-not-permitted",
          `"${escapeForMessage(outside)}" in "${cn(cert)}" is outside the names "${cn(cas[i])}" may certify`,
        );
    }
  }
  return undefined;
}

export type IdentityVerifyResult =
  | {
      readonly ok: true;
      readonly identity: Identity;
      readonly leaf: CertInfo;
      readonly path: readonly CertInfo[];
      /** Stale CRLs applied because strictCrl was false (alert on them); empty otherwise. */
      readonly staleCrls: readonly StaleCrl[];
    }
  | { readonly ok: false; readonly reason: VerifyFailure | IdentityFailure; readonly detail: string };

/**
 * The one identity function of zeroroot: verifies the chain (signatures, validity, revocation, EKU for
 * `use`, name constraints) and returns who it speaks for as (data center, kind, name), refusing what
 * `expect` does not accept. Every authorisation decision starts from its `identity`; a CN alone
 * decides nothing. Never throws for a bad certificate.
 */
export function verifyIdentity(
  chain: string | Buffer | readonly (string | Buffer)[],
  root: string | Buffer,
  opts: VerifyOptions & { readonly expect?: IdentityExpectation },
): IdentityVerifyResult {
  const v = verifyCertificate(chain, root, opts);
  if (!v.ok) return v;
  const id = identityOfPath(v.path);
  if (!id.ok) return id;
  const mismatch = opts.expect ? identityMismatch(id.identity, opts.expect) : undefined;
  if (mismatch && !mismatch.ok) return mismatch;
  return { ok: true, identity: id.identity, leaf: v.leaf, path: v.path, staleCrls: v.staleCrls };
}
