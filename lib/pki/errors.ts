/**
 * Errors of lib/pki. Every refusal carries a stable `code` so callers (CLI, site CA service, node
 * agent) can branch on it and tests can assert on it, and a message that says what was received,
 * what is allowed and how to fix it. Messages never contain key material.
 */

/** Why an issuance request or an input was refused. */
export type PkiErrorCode =
  | "bad-csr"
  | "bad-csr-signature"
  | "weak-key"
  | "unknown-kind"
  | "name-not-authorised"
  | "name-not-permitted"
  | "bad-input"
  | "too-large"
  | "wrong-passphrase";

export class PkiError extends Error {
  constructor(
    readonly code: PkiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "PkiError";
  }
}

/** Why a certificate was refused by verifyCertificate; one distinct value per cause. */
export type VerifyFailure =
  | "malformed"
  | "too-large"
  | "untrusted-root"
  | "broken-chain"
  | "bad-signature"
  | "not-a-ca"
  | "path-too-long"
  | "expired"
  | "not-yet-valid"
  | "wrong-eku"
  | "wrong-key-usage"
  | "unknown-critical-extension"
  | "name-not-permitted"
  | "revoked"
  | "crl-missing"
  | "crl-bad-signature"
  | "crl-expired";

/**
 * Largest DER accepted for one certificate or CSR, and for one CRL, checked before any parsing: a
 * zeroroot certificate is under 2 KiB; a CRL of 4 MiB lists about 100,000 revocations.
 */
export const MAX_CERT_BYTES = 64 * 1024;
export const MAX_CRL_BYTES = 4 * 1024 * 1024;
/** Most certificates a chain given to a verifier may hold (leaf, issuing CA, some spares), and most CRLs. */
export const MAX_CHAIN_CERTS = 8;
export const MAX_CRLS = 64;
/** Most subjectAltName entries a CSR may ask for. */
export const MAX_SAN_NAMES = 64;
