/**
 * lib/desired-state: the signed, versioned, expiring document that tells one computer which instances
 * to run. The control plane signs it (signDesiredState); the node agent verifies it
 * (verifyDesiredState) before applying it. Pure; no Pulumi. See docs/release.md.
 */
export {
  buildDesiredState,
  validateDesiredState,
  DesiredStateError,
  DESIRED_STATE_KIND,
  type DesiredStateDocument,
  type BuildArgs,
} from "./document";
export {
  signDesiredState,
  verifyDesiredState,
  desiredStateDigest,
  type SignedDesiredState,
  type DesiredStateRefusal,
  type DesiredStateVerification,
  type VerifyDesiredStateOptions,
} from "./signed";
