/**
 * Signing a release manifest and verifying it as a node does. Verification never throws for a bad
 * release: it returns one typed reason, so the agent can refuse, report and alert on the cause.
 */
import { formatIdentity } from "../pki";
import { canonicalDigest } from "./canonical";
import { isAuthorised, type AuthorisationList } from "./authorisation";
import {
  signCanonical,
  verifyEnvelope,
  type DetachedSignature,
  type EnvelopeFailure,
  type Signer,
} from "./envelope";
import type { FileSource } from "./files";
import { parseBoundedJson, type DocumentFailure } from "./json";
import { RELEASE_LIMITS } from "./limits";
import { validateManifest, ManifestError, type ReleaseManifest } from "./manifest";
import { compareSemVer } from "./semver";

/** The signed-release file: the manifest as signed, and the detached signature with the signer's chain. */
export interface SignedRelease {
  readonly manifest: ReleaseManifest;
  readonly signature: DetachedSignature;
}

export type ReleaseRefusal =
  | EnvelopeFailure
  | DocumentFailure
  | "unauthorised-signer"
  | "expired"
  | "lifetime-too-long"
  | "rollback"
  | "version-reused"
  | "file-missing"
  | "file-size-mismatch"
  | "file-digest-mismatch";

export type ReleaseVerification =
  | {
      readonly ok: true;
      readonly manifest: ReleaseManifest;
      /** `sha256:<hex>` of the manifest's canonical bytes; desired state refers to the release by it. */
      readonly manifestDigest: string;
      /** The signer as `dc1/software/alice`, and its certificate's fingerprint. */
      readonly signer: { readonly identity: string; readonly fingerprint: string };
      /** False when no file source was given: the caller must check files before running them. */
      readonly filesChecked: boolean;
    }
  | { readonly ok: false; readonly reason: ReleaseRefusal; readonly detail: string; readonly file?: string };

export interface VerifyReleaseOptions {
  /** The trusted root certificate (PEM or DER). */
  readonly root: string | Buffer;
  /** Who may sign which release names. */
  readonly authorisation: AuthorisationList;
  /** CRLs of the issuing CAs (and the root); with them a revoked signer is refused. @default - no revocation check */
  readonly crls?: readonly (string | Buffer)[];
  /** The highest version this node accepted for the release's name; lower is refused. @default - none */
  readonly lastAcceptedVersion?: string;
  /** Manifest digest of lastAcceptedVersion; the same version with another digest is refused. @default - same version accepted */
  readonly lastAcceptedDigest?: string;
  /** Where the release's files are; each size, then each digest is checked. @default - files not checked */
  readonly files?: FileSource;
  /** @default - the current time */
  readonly now?: Date;
}

/** `sha256:<hex>` of the canonical bytes of `manifest`. */
export function manifestDigest(manifest: ReleaseManifest): string {
  return canonicalDigest(manifest);
}

/** Why a release valid until `notAfter` may not be signed or run at `now` (too long a life), or undefined. */
export function lifetimeProblem(m: ReleaseManifest, now: Date): string | undefined {
  const max = now.getTime() + RELEASE_LIMITS.lifetimeDays * 86_400_000;
  if (Date.parse(m.notAfter) <= max) return undefined;
  return `release ${m.name} ${m.version} is valid until ${m.notAfter}, more than ${RELEASE_LIMITS.lifetimeDays} days after ${now.toISOString()} (the life of a software-signing certificate); sign it with an earlier notAfter and sign a new version before then`;
}

/** Validates and signs a manifest. Throws ManifestError or SigningError. */
export function signRelease(manifest: unknown, signer: Signer, now = new Date()): SignedRelease {
  const m = validateManifest(manifest);
  const long = lifetimeProblem(m, now);
  if (long) throw new ManifestError("manifest.notAfter", long);
  return { manifest: m, signature: signCanonical(m, signer) };
}

/** verifyRelease of a document received as text (control plane, disk): bounded before it is parsed. */
export function verifyReleaseText(text: string | Buffer, opts: VerifyReleaseOptions): ReleaseVerification {
  const parsed = parseBoundedJson(
    text,
    { maxBytes: RELEASE_LIMITS.documentBytes, maxDepth: RELEASE_LIMITS.depth },
    "the signed release",
  );
  return parsed.ok ? verifyRelease(parsed.value, opts) : fail(parsed.reason, parsed.detail);
}

/** Everything a node checks before it installs or runs a release. */
export function verifyRelease(signed: unknown, opts: VerifyReleaseOptions): ReleaseVerification {
  const now = opts.now ?? new Date();
  const doc = (typeof signed === "object" && signed !== null ? signed : {}) as Partial<SignedRelease>;
  if (doc.signature === undefined || doc.signature === null)
    return fail("unsigned", "the release carries no signature");
  const env = verifyEnvelope(doc.manifest, doc.signature, { root: opts.root, crls: opts.crls, at: now });
  if (!env.ok) return fail(env.reason, env.detail);
  let m: ReleaseManifest;
  try {
    m = validateManifest(doc.manifest);
  } catch (err) {
    if (err instanceof ManifestError) return fail("malformed", err.message);
    throw err;
  }
  const signer = { identity: formatIdentity(env.identity), fingerprint: env.fingerprint };
  if (!isAuthorised(opts.authorisation, { identity: env.identity, der: env.signer.der }, "releases", m.name))
    return fail(
      "unauthorised-signer",
      `signer ${signer.identity} (${signer.fingerprint}) is not authorised to sign release "${m.name}"`,
    );
  if (now.getTime() > Date.parse(m.notAfter))
    return fail("expired", `release ${m.name} ${m.version} expired at ${m.notAfter}`);
  const long = lifetimeProblem(m, now);
  if (long) return fail("lifetime-too-long", long);
  const digest = manifestDigest(m);
  const order = versionProblem(m, digest, opts);
  if (order) return order;
  const files = opts.files ? checkFiles(m, opts.files) : undefined;
  if (files) return files;
  return { ok: true, manifest: m, manifestDigest: digest, signer, filesChecked: opts.files !== undefined };
}

function versionProblem(
  m: ReleaseManifest,
  digest: string,
  opts: VerifyReleaseOptions,
): ReleaseVerification | undefined {
  if (opts.lastAcceptedVersion === undefined) return undefined;
  const cmp = compareSemVer(m.version, opts.lastAcceptedVersion);
  if (cmp < 0)
    return fail(
      "rollback",
      `release ${m.name} ${m.version} is older than ${opts.lastAcceptedVersion}, the last accepted`,
    );
  if (cmp === 0 && opts.lastAcceptedDigest !== undefined && opts.lastAcceptedDigest !== digest)
    return fail(
      "version-reused",
      `release ${m.name} ${m.version} was accepted before with digest ${opts.lastAcceptedDigest}; this one is ${digest}`,
    );
  return undefined;
}

/** Every size first (one stat each), then every digest, each read bounded by its declared size. */
function checkFiles(m: ReleaseManifest, source: FileSource): ReleaseVerification | undefined {
  const at = (f: { path: string }) => `file "${f.path}" of release ${m.name} ${m.version}`;
  for (const f of m.files) {
    const size = source.size(f.path);
    if (size === undefined)
      return {
        ok: false,
        reason: "file-missing",
        detail: `${at(f)} is missing (or not a regular file)`,
        file: f.path,
      };
    if (size !== f.size)
      return {
        ok: false,
        reason: "file-size-mismatch",
        detail: `${at(f)} is ${size} bytes; the manifest says ${f.size} (not hashed)`,
        file: f.path,
      };
  }
  for (const f of m.files) {
    const d = source.digest(f.path, f.size);
    if (!d) return { ok: false, reason: "file-missing", detail: `${at(f)} is missing`, file: f.path };
    if (d.sha256 !== f.sha256 || d.size !== f.size) {
      const detail = `${at(f)} has sha256 ${d.sha256} (${d.size} bytes); the manifest says ${f.sha256} (${f.size} bytes)`;
      return { ok: false, reason: "file-digest-mismatch", detail, file: f.path };
    }
  }
  return undefined;
}

const fail = (reason: ReleaseRefusal, detail: string): Extract<ReleaseVerification, { ok: false }> => ({
  ok: false,
  reason,
  detail,
});
