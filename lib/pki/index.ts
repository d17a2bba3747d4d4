/**
 * lib/pki: the certificate hierarchy of zeroroot (root → per-data-center issuing CA → user, computer,
 * software and service leaves). Pure code over node:crypto and @peculiar ASN.1 schemas; no Pulumi.
 * See docs/pki.md.
 */
export {
  PkiError,
  MAX_CERT_BYTES,
  MAX_CRL_BYTES,
  MAX_CHAIN_CERTS,
  MAX_CRLS,
  MAX_SAN_NAMES,
  type PkiErrorCode,
  type VerifyFailure,
} from "./errors";
export { writeFileAtomic } from "./files";
export {
  generateKeyPair,
  keyKindOf,
  exportPkcs8,
  loadPrivateKey,
  KEY_KINDS,
  PKCS8_KDF_ITERATIONS,
  type KeyKind,
  type KeyPair,
  type Pkcs8Options,
} from "./keys";
export {
  PROFILES,
  PROFILE_NAMES,
  LEAF_KINDS,
  profileFor,
  renewalDue,
  resolveValidityDays,
  resolveLifetimeSeconds,
  ONLINE_CA_PERMITTED_KINDS,
  MAX_BACKDATE_MS,
  type Profile,
  type ProfileName,
  type LeafKind,
} from "./profiles";
export { createCsr, parseCsr, type CsrSubject, type ParsedCsr } from "./csr";
export {
  createRootCa,
  loadCa,
  issueFromCsr,
  describeScope,
  type CertificateAuthority,
  type Authorisation,
  type IssueOptions,
  type IssuedCertificate,
} from "./ca";
export { parseCertificate, type CertInfo } from "./cert";
export {
  issueCrl,
  parseCrl,
  normaliseSerial,
  checkReason,
  REVOCATION_REASONS,
  type Revocation,
  type RevocationReason,
  type CrlOptions,
  type ParsedCrl,
} from "./crl";
export {
  verifyCertificate,
  verifyIdentity,
  type VerifyOptions,
  type VerifyResult,
  type IdentityVerifyResult,
  type StaleCrl,
} from "./verify";
export {
  formatIdentity,
  parseIdentity,
  sameIdentity,
  identityUri,
  identityOfPath,
  identityMismatch,
  leafNameProblem,
  caNameProblem,
  dataCenterOfCa,
  kindsOfCa,
  jobName,
  jobOwnerOf,
  escapeForMessage,
  IDENTITY_SCHEME,
  NAME_MAX_LENGTH,
  type Identity,
  type IdentityExpectation,
  type IdentityFailure,
  type IdentityResult,
} from "./identity";
export {
  createKeystore,
  createTruststore,
  PKCS12_KDF_ITERATIONS,
  type KeystoreArgs,
  type TruststoreArgs,
} from "./pkcs12";
export type { Eku } from "./asn";
export type { NameScope } from "./names";
export {
  initCeremony,
  openCa,
  signWithCeremony,
  revokeInCeremony,
  crlFromCeremony,
  loadState,
  rootCertificatePath,
  type CeremonyState,
  type IssuedRecord,
  type InitArgs,
} from "./ceremony";
