/**
 * Signing a release manifest and verifying it as a node does. Verification never throws for a bad
 * release: it returns one typed reason, so the agent can refuse, report and alert on the cause.
 */
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
import { validateManifest, ManifestError, type ReleaseManifest } from "./manifest";
import { compareSemVer } from "./semver";

/** The signed-release file: the manifest as signed, and the detached signature with the signer's chain. */
export interface SignedRelease {
  readonly manifest: ReleaseManifest;
  readonly signature: DetachedSignature;
}

export type ReleaseRefusal =
  | EnvelopeFailure
  | "unauthorised-signer"
  | "expired"
  | "rollback"
  | "version-reused"
  | "file-missing"
  | "file-digest-mismatch";

export type ReleaseVerification =
  | {
      readonly ok: true;
      readonly manifest: ReleaseManifest;
      /** `sha256:<hex>` of the manifest's canonical bytes; desired state refers to the release by it. */
      readonly manifestDigest: string;
      readonly signer: { readonly commonName: string; readonly fingerprint: string };
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
  /** Where the release's files are; each digest and size is checked. @default - files not checked */
  readonly files?: FileSource;
  /** @default - the current time */
  readonly now?: Date;
}

/** `sha256:<hex>` of the canonical bytes of `manifest`. */
export function manifestDigest(manifest: ReleaseManifest): string {
  return canonicalDigest(manifest);
}

/** Validates and signs a manifest. Throws ManifestError or SigningError. */
export function signRelease(manifest: unknown, signer: Signer): SignedRelease {
  const m = validateManifest(manifest);
  return { manifest: m, signature: signCanonical(m, signer) };
}

/** Everything a node checks before it installs or runs a release. */
export function verifyRelease(signed: unknown, opts: VerifyReleaseOptions): ReleaseVerification {
  const now = opts.now ?? new Date();
  const doc = (typeof signed === "object" && signed !== null ? signed : {}) as Partial<SignedRelease>;
  if (doc.signature === undefined || doc.signature === null)
    return fail("unsigned", "the release carries no signature");
  const env = verifyEnvelope(doc.manifest, doc.signature, {
    root: opts.root,
    use: "codeSigning",
    crls: opts.crls,
    at: now,
  });
  if (!env.ok) return fail(env.reason, env.detail);
  let m: ReleaseManifest;
  try {
    m = validateManifest(doc.manifest);
  } catch (err) {
    if (err instanceof ManifestError) return fail("malformed", err.message);
    throw err;
  }
  const signer = { commonName: env.signer.commonName, fingerprint: env.fingerprint };
  if (!isAuthorised(opts.authorisation, env.signer, "releases", m.name)) {
    return fail(
      "unauthorised-signer",
      `signer "${signer.commonName}" (${signer.fingerprint}) is not authorised to sign release "${m.name}"`,
    );
  }
  if (now.getTime() > Date.parse(m.notAfter))
    return fail("expired", `release ${m.name} ${m.version} expired at ${m.notAfter}`);
  const digest = manifestDigest(m);
  if (opts.lastAcceptedVersion !== undefined) {
    const cmp = compareSemVer(m.version, opts.lastAcceptedVersion);
    if (cmp < 0)
      return fail(
        "rollback",
        `release ${m.name} ${m.version} is older than ${opts.lastAcceptedVersion}, the last accepted`,
      );
    if (cmp === 0 && opts.lastAcceptedDigest !== undefined && opts.lastAcceptedDigest !== digest) {
      return fail(
        "version-reused",
        `release ${m.name} ${m.version} was accepted before with digest ${opts.lastAcceptedDigest}; this one is ${digest}`,
      );
    }
  }
  if (opts.files) {
    for (const f of m.files) {
      const d = opts.files.digest(f.path);
      if (!d)
        return {
          ok: false,
          reason: "file-missing",
          detail: `file "${f.path}" of release ${m.name} ${m.version} is missing`,
          file: f.path,
        };
      if (d.sha256 !== f.sha256 || d.size !== f.size) {
        const detail = `file "${f.path}" has sha256 ${d.sha256} (${d.size} bytes); the manifest says ${f.sha256} (${f.size} bytes)`;
        return { ok: false, reason: "file-digest-mismatch", detail, file: f.path };
      }
    }
  }
  return { ok: true, manifest: m, manifestDigest: digest, signer, filesChecked: opts.files !== undefined };
}

const fail = (reason: ReleaseRefusal, detail: string): Extract<ReleaseVerification, { ok: false }> => ({
  ok: false,
  reason,
  detail,
});
