/**
 * lib/desired-state: the signed, versioned, expiring document that tells one computer which instances
 * to run. The operator signs it (signDesiredState); the node agent verifies it (verifyDesiredState)
 * against its own computer identity, and its data center's freshness statement (verifyFreshness),
 * before applying it. Pure; no Pulumi. See docs/release.md.
 */
export {
  buildDesiredState,
  validateDesiredState,
  validityProblem,
  renewalDue,
  DesiredStateError,
  DESIRED_STATE_LIMITS,
  DESIRED_STATE_KIND,
  type DesiredStateDocument,
  type BuildArgs,
} from "./document";
export {
  signDesiredState,
  verifyDesiredState,
  verifyDesiredStateText,
  desiredStateDigest,
  type SignedDesiredState,
  type DesiredStateRefusal,
  type DesiredStateVerification,
  type VerifyDesiredStateOptions,
} from "./signed";
export {
  signFreshness,
  verifyFreshness,
  verifyFreshnessText,
  timestampName,
  FRESHNESS_KIND,
  FRESHNESS_LIMITS,
  TIMESTAMP_LABEL,
  type FreshnessStatement,
  type SignedFreshness,
  type FreshnessTarget,
  type FreshnessRefusal,
  type FreshnessVerification,
  type VerifyFreshnessOptions,
  type FreshnessArgs,
} from "./freshness";
export { publishedVersion, appliedVersion } from "./versions";
