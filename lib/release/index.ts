/**
 * lib/release: signed software releases. A manifest (name, semver, files/packages with digests,
 * supervisord programs, config templates, ports, holdsData, expiry) is signed over its canonical JSON
 * with a software-signing certificate; nodes verify it with verifyRelease (the signer's identity
 * dc/software/name must be authorised for the release name). No Pulumi.
 * See docs/release.md.
 */
export { canonicalJson, canonicalBytes, canonicalDigest, CanonicalFormError } from "./canonical";
export { parseSemVer, compareSemVer, type SemVer } from "./semver";
export {
  parseAuthorisationList,
  normaliseFingerprint,
  certificateFingerprint,
  matchesPattern,
  isAuthorised,
  entriesFor,
  AuthorisationError,
  AUTHORISATION_LIMITS,
  type AuthorisedSigner,
  type SignerIdentity,
  type AuthorisationList,
} from "./authorisation";
export {
  signCanonical,
  verifyEnvelope,
  SigningError,
  type DetachedSignature,
  type Signer,
  type SignatureAlgorithm,
  type EnvelopeFailure,
  type EnvelopeResult,
} from "./envelope";
export {
  validateManifest,
  placeholdersOf,
  ManifestError,
  RELEASE_KIND,
  PARTITION_USER,
  PLACEHOLDERS,
  type ReleaseManifest,
  type ReleaseFile,
  type ReleasePackage,
  type ReleaseProgram,
  type ConfigTemplate,
  type ReleasePort,
} from "./manifest";
export {
  digestBytes,
  digestFile,
  directoryFileSource,
  memoryFileSource,
  type FileDigest,
  type FileSource,
} from "./files";
export { RELEASE_LIMITS, ENVELOPE_LIMITS } from "./limits";
export {
  parseBoundedJson,
  isReservedName,
  type BoundedJson,
  type DocumentFailure,
  type JsonBounds,
} from "./json";
export {
  signRelease,
  verifyRelease,
  verifyReleaseText,
  lifetimeProblem,
  manifestDigest,
  type SignedRelease,
  type ReleaseRefusal,
  type ReleaseVerification,
  type VerifyReleaseOptions,
} from "./release";
