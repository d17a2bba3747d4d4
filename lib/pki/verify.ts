/**
 * Verification used by the node agent, the site services and the datastore front ends: chain to a
 * given root through the issuing CA, validity, EKU, name constraints and CRL revocation. Every
 * refusal is a distinct `reason`, so callers can log and alert on the cause, and tests can assert it.
 */
import { fromPemAll, type Eku } from "./asn";
import { parseCertificate, ekuOid, type CertInfo } from "./cert";
import { parseCrl, type ParsedCrl } from "./crl";
import { verifySignature } from "./csr";
import type { VerifyFailure } from "./errors";
import { firstNameOutside } from "./names";
import {
  identityMismatch,
  identityOfPath,
  type Identity,
  type IdentityExpectation,
  type IdentityFailure,
} from "./identity";

export interface VerifyOptions {
  /** What the leaf is about to be used for; its EKU must list it. */
  readonly use: Eku;
  /** CRLs (PEM or DER). When given, the leaf's issuer must have one here, and revoked serials are refused. */
  readonly crls?: readonly (string | Buffer)[];
  /** @default - the current time */
  readonly at?: Date;
}

export type VerifyResult =
  | { readonly ok: true; readonly leaf: CertInfo; readonly path: readonly CertInfo[] }
  | { readonly ok: false; readonly reason: VerifyFailure; readonly detail: string };

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
  let certs: CertInfo[];
  let anchor: CertInfo;
  try {
    const blocks = (Array.isArray(chain) ? chain : [chain]).flatMap((c: string | Buffer) =>
      fromPemAll(c, "CERTIFICATE"),
    );
    if (blocks.length === 0) return fail("malformed", "no certificate given");
    certs = blocks.map((b) => parseCertificate(b));
    anchor = parseCertificate(root);
  } catch (err) {
    return fail("malformed", (err as Error).message);
  }
  const built = buildPath(certs[0], certs.slice(1), anchor);
  if (!("path" in built)) return built;
  const path = built.path;
  const at = opts.at ?? new Date();
  return (
    checkSignaturesAndCas(path, anchor) ??
    checkValidity([...path, anchor], at) ??
    checkRevocation(path, anchor, opts.crls, at) ??
    checkEku(path[0], opts.use) ??
    checkNames(path, anchor) ?? { ok: true, leaf: path[0], path }
  );
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
      return fail(
        "untrusted-root",
        `"${cur.commonName}" does not chain to the trusted root "${anchor.commonName}"`,
      );
    path.push(next);
    cur = next;
  }
  const top = path[path.length - 1];
  if (top.authorityKeyId && !top.authorityKeyId.equals(anchor.subjectKeyId)) {
    return fail(
      "untrusted-root",
      `"${top.commonName}" was issued by a different key than the trusted root "${anchor.commonName}"`,
    );
  }
  if (!signedBy(top, anchor)) {
    // Same name and key id but a signature the root did not make: a forged or foreign root.
    return fail(
      top === leaf ? "bad-signature" : "untrusted-root",
      `"${top.commonName}" is not signed by the trusted root "${anchor.commonName}"`,
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
      return fail("not-a-ca", `"${issuer.commonName}" is not a CA but issued "${cert.commonName}"`);
    // pathLen counts the CA certificates below the issuer, excluding the leaf.
    if (issuer.pathLen !== undefined && i > issuer.pathLen) {
      return fail(
        "path-too-long",
        `"${issuer.commonName}" allows ${issuer.pathLen} CA(s) below it, found ${i}`,
      );
    }
    if (!signedBy(cert, issuer)) {
      return fail(
        "bad-signature",
        `the signature on "${cert.commonName}" does not verify with the key of "${issuer.commonName}"`,
      );
    }
  }
  return undefined;
}

function checkValidity(certs: CertInfo[], at: Date): VerifyResult | undefined {
  for (const c of certs) {
    if (at < c.notBefore)
      return fail("not-yet-valid", `"${c.commonName}" is valid from ${c.notBefore.toISOString()}`);
    if (at > c.notAfter) return fail("expired", `"${c.commonName}" expired at ${c.notAfter.toISOString()}`);
  }
  return undefined;
}

function checkRevocation(
  path: readonly CertInfo[],
  anchor: CertInfo,
  crlData: VerifyOptions["crls"],
  at: Date,
): VerifyResult | undefined {
  if (!crlData) return undefined;
  let crls: ParsedCrl[];
  try {
    crls = crlData.map((c) => parseCrl(c));
  } catch (err) {
    return fail("malformed", (err as Error).message);
  }
  const issuers = [...path.slice(1), anchor];
  for (let i = 0; i < path.length; i++) {
    const crl = crls.find((c) => c.issuerDer.equals(path[i].issuerDer));
    // The leaf's issuer must publish a CRL; intermediates are checked when the root's CRL is given.
    if (!crl) {
      if (i === 0) return fail("crl-missing", `no CRL of "${issuers[0].commonName}" was given`);
      continue;
    }
    if (!verifySignature(crl.signatureAlgorithm, crl.tbsDer, issuers[i].publicKey, crl.signature)) {
      return fail("crl-bad-signature", `the CRL naming "${issuers[i].commonName}" is not signed by it`);
    }
    if (crl.nextUpdate && at > crl.nextUpdate)
      return fail(
        "crl-expired",
        `the CRL of "${issuers[i].commonName}" is stale since ${crl.nextUpdate.toISOString()}`,
      );
    const reason = crl.revoked.get(path[i].serial);
    if (reason)
      return fail("revoked", `"${path[i].commonName}" (serial ${path[i].serial}) is revoked: ${reason}`);
  }
  return undefined;
}

function checkEku(leaf: CertInfo, use: Eku): VerifyResult | undefined {
  if (leaf.extendedKeyUsage.includes(ekuOid(use))) return undefined;
  return fail(
    "wrong-eku",
    `"${leaf.commonName}" is not for ${use} (its extended key usage does not list it)`,
  );
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
          `"${outside}" in "${cert.commonName}" is outside the names "${cas[i].commonName}" may certify`,
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
  return { ok: true, identity: id.identity, leaf: v.leaf, path: v.path };
}
