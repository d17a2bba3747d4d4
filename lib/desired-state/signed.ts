/**
 * Signing desired state (control plane side) and verifying it (node side).
 *
 * Signer decision: the signer holds a *software-signing* certificate (codeSigning EKU) from the
 * hierarchy, and the node's authorisation list must grant it `desiredState` for the document's data
 * center, a grant distinct from `releases`. Service certificates (serverAuth + clientAuth) are held by
 * every online service; letting them sign state would let any compromised service command the fleet.
 * lib/pki has no dedicated EKU for state, and a signature, not a TLS session, is what codeSigning means.
 * See docs/release.md, "Decisions".
 */
import {
  canonicalDigest,
  isAuthorised,
  signCanonical,
  verifyEnvelope,
  type AuthorisationList,
  type DetachedSignature,
  type EnvelopeFailure,
  type Signer,
} from "../release";
import { validateDesiredState, DesiredStateError, type DesiredStateDocument } from "./document";

export interface SignedDesiredState {
  readonly document: DesiredStateDocument;
  readonly signature: DetachedSignature;
}

export type DesiredStateRefusal =
  | EnvelopeFailure
  | "unauthorised-signer"
  | "wrong-computer"
  | "expired"
  | "not-yet-valid"
  | "rollback"
  | "version-reused";

export type DesiredStateVerification =
  | {
      readonly ok: true;
      readonly document: DesiredStateDocument;
      /** `sha256:<hex>` of the document's canonical bytes; keep it with the version once applied. */
      readonly digest: string;
      readonly signer: { readonly commonName: string; readonly fingerprint: string };
      /** True when this is the very document last applied (same version and digest): nothing to do. */
      readonly unchanged: boolean;
    }
  | { readonly ok: false; readonly reason: DesiredStateRefusal; readonly detail: string };

export interface VerifyDesiredStateOptions {
  readonly root: string | Buffer;
  /** Signers and their grants; only `desiredState` grants count here. */
  readonly authorisedSigners: AuthorisationList;
  /** This node's computer id (its certificate's CN). */
  readonly computerId: string;
  /** Version of the last document this node applied. @default - none applied yet */
  readonly lastAppliedVersion?: number;
  /** Digest of that document; the same version is accepted again only with this digest. @default - same version refused */
  readonly lastAppliedDigest?: string;
  readonly crls?: readonly (string | Buffer)[];
  /** Tolerated clock difference for issuedAt in the future. @default - 300 */
  readonly maxClockSkewSeconds?: number;
  /** @default - the current time */
  readonly now?: Date;
}

export function desiredStateDigest(doc: DesiredStateDocument): string {
  return canonicalDigest(doc);
}

/** Validates and signs a document. Throws DesiredStateError or SigningError. */
export function signDesiredState(document: unknown, signer: Signer): SignedDesiredState {
  const doc = validateDesiredState(document);
  return { document: doc, signature: signCanonical(doc, signer) };
}

/** Everything a node checks before applying a document. Never throws for a bad document. */
export function verifyDesiredState(
  signed: unknown,
  opts: VerifyDesiredStateOptions,
): DesiredStateVerification {
  const now = opts.now ?? new Date();
  const s = (typeof signed === "object" && signed !== null ? signed : {}) as Partial<SignedDesiredState>;
  if (s.signature === undefined || s.signature === null)
    return fail("unsigned", "the desired-state document carries no signature");
  const env = verifyEnvelope(s.document, s.signature, {
    root: opts.root,
    use: "codeSigning",
    crls: opts.crls,
    at: now,
  });
  if (!env.ok) return fail(env.reason, env.detail);
  let doc: DesiredStateDocument;
  try {
    doc = validateDesiredState(s.document);
  } catch (err) {
    if (err instanceof DesiredStateError) return fail("malformed", err.message);
    throw err;
  }
  const signer = { commonName: env.signer.commonName, fingerprint: env.fingerprint };
  if (!isAuthorised(opts.authorisedSigners, env.signer, "desiredState", doc.dataCenter)) {
    return fail(
      "unauthorised-signer",
      `signer "${signer.commonName}" (${signer.fingerprint}) is not authorised to sign desired state for data center ${doc.dataCenter}`,
    );
  }
  if (doc.computerId !== opts.computerId)
    return fail(
      "wrong-computer",
      `the document is for computer "${doc.computerId}", this is "${opts.computerId}"`,
    );
  if (now.getTime() >= Date.parse(doc.expiresAt))
    return fail("expired", `the document (version ${doc.version}) expired at ${doc.expiresAt}`);
  const skew = (opts.maxClockSkewSeconds ?? 300) * 1000;
  if (Date.parse(doc.issuedAt) - skew > now.getTime())
    return fail(
      "not-yet-valid",
      `the document is issued at ${doc.issuedAt}, in the future of this node's clock (${now.toISOString()})`,
    );
  const digest = desiredStateDigest(doc);
  const last = opts.lastAppliedVersion;
  if (last !== undefined && doc.version < last)
    return fail("rollback", `version ${doc.version} is older than version ${last}, the last applied`);
  if (last !== undefined && doc.version === last && digest !== opts.lastAppliedDigest) {
    return fail(
      "version-reused",
      `version ${doc.version} was applied before with another content (digest ${opts.lastAppliedDigest ?? "not given"}, this one ${digest})`,
    );
  }
  return { ok: true, document: doc, digest, signer, unchanged: last !== undefined && doc.version === last };
}

const fail = (
  reason: DesiredStateRefusal,
  detail: string,
): Extract<DesiredStateVerification, { ok: false }> => ({ ok: false, reason, detail });
