/**
 * Detached signatures over canonical JSON, shared by release manifests and desired-state documents.
 * The signature covers the canonical bytes of the payload (see canonical.ts); the signer's
 * certificate and its issuing CA travel with it so a node needs only the root to check it.
 */
import * as crypto from "node:crypto";
import {
  escapeForMessage,
  keyKindOf,
  parseCertificate,
  verifyIdentity,
  type CertInfo,
  type Eku,
  type Identity,
  type IdentityExpectation,
  type KeyKind,
} from "../pki";
import { canonicalBytes } from "./canonical";
import { certificateFingerprint } from "./authorisation";
import { ENVELOPE_LIMITS } from "./limits";

export type SignatureAlgorithm = "ecdsa-p256-sha256" | "ecdsa-p384-sha384" | "rsa-pkcs1-sha256";

export interface DetachedSignature {
  /** Fixed by the signer's key; a verifier derives it from the certificate and refuses a mismatch. */
  readonly algorithm: SignatureAlgorithm;
  /** Base64 of the signature over the payload's canonical bytes (ECDSA: DER-encoded r, s). */
  readonly value: string;
  /** PEM certificates: the signer first, then its issuing CA. The root is never taken from here. */
  readonly certificates: readonly string[];
}

export interface Signer {
  readonly privateKey: crypto.KeyObject;
  /** The signer's certificate (PEM). */
  readonly certificatePem: string;
  /** Issuer certificates to attach (PEM bundle), normally the data center's issuing CA. @default - none */
  readonly chainPem?: string;
}

export class SigningError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SigningError";
  }
}

export type EnvelopeFailure =
  | "unsigned"
  | "malformed"
  | "bad-signature"
  | "untrusted-signer"
  | "wrong-eku"
  | "wrong-kind"
  | "wrong-data-center"
  | "revoked"
  | "signer-expired"
  | "crl-unusable";

export type EnvelopeResult =
  | {
      readonly ok: true;
      readonly signer: CertInfo;
      /** The signer's verified identity: of kind software unless EnvelopeCheck.signer says otherwise. */
      readonly identity: Identity;
      readonly fingerprint: string;
    }
  | { readonly ok: false; readonly reason: EnvelopeFailure; readonly detail: string };

/**
 * What a signature is checked against. The signer must be a software-signing certificate (codeSigning
 * EKU and a software identity): service and computer certificates are held by online machines, and
 * letting them sign would let any compromised one command the fleet.
 */
export interface EnvelopeCheck {
  readonly root: string | Buffer;
  readonly crls?: readonly (string | Buffer)[];
  readonly at: Date;
  /**
   * Who may sign. Only statements that cannot change what runs (desired-state freshness, signed by a
   * data center's online timestamp service) take another signer than the default.
   * @default - a software-signing certificate: codeSigning EKU, kind software
   */
  readonly signer?: { readonly use: Eku; readonly expect: IdentityExpectation };
}

const ALGORITHMS: Record<KeyKind, { alg: SignatureAlgorithm; hash: string }> = {
  "ec-p256": { alg: "ecdsa-p256-sha256", hash: "sha256" },
  "ec-p384": { alg: "ecdsa-p384-sha384", hash: "sha384" },
  "rsa-3072": { alg: "rsa-pkcs1-sha256", hash: "sha256" },
  "rsa-4096": { alg: "rsa-pkcs1-sha256", hash: "sha256" },
};

/** Signs the canonical bytes of `payload`; refuses a key that does not belong to the certificate. */
export function signCanonical(payload: unknown, signer: Signer): DetachedSignature {
  let cert: CertInfo;
  try {
    cert = parseCertificate(signer.certificatePem);
  } catch (err) {
    throw new SigningError(
      `the signer certificate cannot be read (${(err as Error).message}); give a PEM CERTIFICATE`,
    );
  }
  const spki = crypto.createPublicKey(signer.privateKey).export({ type: "spki", format: "der" });
  if (!spki.equals(cert.spkiDer)) {
    throw new SigningError(
      `the private key does not belong to certificate "${cert.commonName}"; give the key made with that certificate's CSR`,
    );
  }
  const { alg, hash } = ALGORITHMS[keyKindOf(cert.publicKey)];
  const value = crypto.sign(hash, canonicalBytes(payload), signer.privateKey).toString("base64");
  const chain = signer.chainPem ? splitPem(signer.chainPem) : [];
  return { algorithm: alg, value, certificates: [...splitPem(signer.certificatePem), ...chain] };
}

/** Checks signature, then chain to `root` for `use` (with CRLs when given). Never throws. */
export function verifyEnvelope(payload: unknown, signature: unknown, check: EnvelopeCheck): EnvelopeResult {
  const sig = signature as Partial<DetachedSignature> | null | undefined;
  if (typeof sig !== "object" || sig === null || typeof sig.value !== "string" || sig.value === "") {
    return fail("unsigned", "the document carries no signature");
  }
  if (sig.value.length > ENVELOPE_LIMITS.signatureLength)
    return fail(
      "malformed",
      `the signature value is ${sig.value.length} characters; at most ${ENVELOPE_LIMITS.signatureLength}`,
    );
  if (
    !Array.isArray(sig.certificates) ||
    sig.certificates.length === 0 ||
    !sig.certificates.every((c) => typeof c === "string")
  ) {
    return fail("untrusted-signer", "the signature carries no signer certificate");
  }
  const certs = sig.certificates as string[];
  if (
    certs.length > ENVELOPE_LIMITS.certificates ||
    certs.some((c) => c.length > ENVELOPE_LIMITS.certificateLength)
  )
    return fail(
      "malformed",
      `the signature carries ${certs.length} certificate(s) of up to ${Math.max(...certs.map((c) => c.length))} characters; at most ${ENVELOPE_LIMITS.certificates} (the signer and its issuing CA) of ${ENVELOPE_LIMITS.certificateLength}`,
    );
  let leaf: CertInfo;
  let expected: { alg: SignatureAlgorithm; hash: string };
  try {
    leaf = parseCertificate(certs[0]);
    expected = ALGORITHMS[keyKindOf(leaf.publicKey)];
  } catch (err) {
    return fail("untrusted-signer", `the signer certificate cannot be used (${(err as Error).message})`);
  }
  if (sig.algorithm !== expected.alg) {
    return fail(
      "bad-signature",
      `algorithm "${String(sig.algorithm)}" does not match the signer's key (expected ${expected.alg})`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = canonicalBytes(payload);
  } catch (err) {
    return fail("malformed", (err as Error).message);
  }
  if (!verifyBytes(expected.hash, bytes, leaf.publicKey, sig.value)) {
    return fail(
      "bad-signature",
      `the signature does not verify with the key of "${escapeForMessage(leaf.commonName)}": the document was changed after signing`,
    );
  }
  const who = check.signer ?? { use: "codeSigning", expect: { kinds: ["software"] } };
  const r = verifyIdentity(certs, check.root, {
    use: who.use,
    crls: check.crls,
    at: check.at,
    expect: who.expect,
  });
  if (!r.ok)
    return fail(
      mapPkiFailure(r.reason),
      `signer "${escapeForMessage(leaf.commonName)}": ${r.detail} (${r.reason})`,
    );
  return { ok: true, signer: r.leaf, identity: r.identity, fingerprint: certificateFingerprint(r.leaf.der) };
}

function verifyBytes(hash: string, data: Buffer, key: crypto.KeyObject, b64: string): boolean {
  try {
    return crypto.verify(hash, data, key, Buffer.from(b64, "base64"));
  } catch {
    return false;
  }
}

function mapPkiFailure(reason: string): EnvelopeFailure {
  switch (reason) {
    case "wrong-eku":
    case "wrong-key-usage":
      return "wrong-eku";
    case "wrong-kind":
      return "wrong-kind";
    case "wrong-data-center":
      return "wrong-data-center";
    case "revoked":
      return "revoked";
    case "expired":
    case "not-yet-valid":
      return "signer-expired";
    case "crl-missing":
    case "crl-bad-signature":
    case "crl-expired":
      return "crl-unusable";
    default:
      // untrusted-root, broken-chain, bad-signature (on a certificate), not-a-ca, path-too-long,
      // name-not-permitted (e.g. a software signer minted by a site's online CA), malformed,
      // no-identity, wrong-name: the signer is not one the root vouches for.
      return "untrusted-signer";
  }
}

const fail = (reason: EnvelopeFailure, detail: string): Extract<EnvelopeResult, { ok: false }> => ({
  ok: false,
  reason,
  detail,
});

function splitPem(text: string): string[] {
  return (
    text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? []
  );
}
