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
  | "untrusted-root"
  | "broken-chain"
  | "bad-signature"
  | "not-a-ca"
  | "path-too-long"
  | "expired"
  | "not-yet-valid"
  | "wrong-eku"
  | "name-not-permitted"
  | "revoked"
  | "crl-missing"
  | "crl-bad-signature"
  | "crl-expired";
