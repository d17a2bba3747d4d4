/**
 * Bounds of signed documents (releases, and the signature envelope shared with desired state), each
 * defined here once. A node checks them before it parses, hashes or verifies anything, so that a
 * hostile document costs it a bounded amount of work.
 */
import { PROFILES } from "../pki";

export const RELEASE_LIMITS = {
  /** Bytes of a signed release document (manifest, signature and chain), checked before parsing. */
  documentBytes: 1 << 20,
  /** Nesting depth of its JSON (a genuine release nests 5 deep). */
  depth: 16,
  files: 10_000,
  packages: 500,
  programs: 64,
  configTemplates: 256,
  ports: 64,
  /** Characters of a file or template path. */
  pathLength: 1024,
  /** Characters of one program command. */
  commandLength: 4096,
  /** Characters of one config template. */
  templateLength: 65_536,
  /**
   * Days from the moment a release is signed (or verified) to its notAfter, at most: the validity of
   * the software-signing certificate that signs it, which bounds its useful life anyway.
   */
  lifetimeDays: PROFILES.software.validityDays,
} as const;

export const ENVELOPE_LIMITS = {
  /** Certificates attached to a signature: the signer and its issuing CA (the root is never taken from it). */
  certificates: 2,
  /** Characters of one attached PEM certificate (an RSA-4096 leaf with names is about 2,500). */
  certificateLength: 16_384,
  /** Characters of the base64 signature value (an RSA-4096 signature is 684). */
  signatureLength: 1024,
} as const;
