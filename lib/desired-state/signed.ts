/**
 * Signing desired state (operator side, at `pulumi up`) and verifying it (node side).
 *
 * Signer decision: the signer holds a *software-signing* certificate (codeSigning EKU, software
 * identity) from the hierarchy, and the node's authorisation list must grant that identity
 * `desiredState` for the node's data center, a grant distinct from `releases`. Service and computer
 * certificates are held by online machines; letting them sign state would let any compromised one
 * command the fleet. See docs/release.md, "Decisions".
 *
 * Target decision: the node's data center and name come from its own computer certificate, verified
 * (nodeIdentity in lib/agent), never from the document: a signer authorised for dc2 that writes
 * `dataCenter: "dc2"` into a document for dc1-s01 is refused by dc1-s01.
 */
import { formatIdentity, type Identity } from "../pki";
import {
  canonicalDigest,
  isAuthorised,
  parseBoundedJson,
  signCanonical,
  verifyEnvelope,
  type AuthorisationList,
  type DetachedSignature,
  type DocumentFailure,
  type EnvelopeFailure,
  type Signer,
} from "../release";
import {
  validateDesiredState,
  validityProblem,
  DesiredStateError,
  DESIRED_STATE_LIMITS,
  type DesiredStateDocument,
} from "./document";

export interface SignedDesiredState {
  readonly document: DesiredStateDocument;
  readonly signature: DetachedSignature;
}

export type DesiredStateRefusal =
  | EnvelopeFailure
  | DocumentFailure
  | "unauthorised-signer"
  | "wrong-computer"
  | "wrong-data-center"
  | "validity-too-long"
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
      /** The signer as `dc1/software/alice`, and its certificate's fingerprint. */
      readonly signer: { readonly identity: string; readonly fingerprint: string };
      /** True when this is the very document last applied (same version and digest): nothing to do. */
      readonly unchanged: boolean;
    }
  | { readonly ok: false; readonly reason: DesiredStateRefusal; readonly detail: string };

export interface VerifyDesiredStateOptions {
  readonly root: string | Buffer;
  /** Signers and their grants; only `desiredState` grants count here. */
  readonly authorisedSigners: AuthorisationList;
  /** This node, from its own verified computer certificate: the document must name it and its data center. */
  readonly node: Identity;
  /** Version of the last document this node applied. @default - none applied yet */
  readonly lastAppliedVersion?: number;
  /** Digest of that document; the same version is accepted again only with this digest. @default - same version refused */
  readonly lastAppliedDigest?: string;
  readonly crls?: readonly (string | Buffer)[];
  /** Tolerated clock difference for issuedAt in the future. @default - DESIRED_STATE_LIMITS.clockSkewSeconds */
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
  const long = validityProblem(doc);
  if (long) throw new DesiredStateError("document.expiresAt", long);
  return { document: doc, signature: signCanonical(doc, signer) };
}

/** verifyDesiredState of a document received as text (control plane, disk): bounded before it is parsed. */
export function verifyDesiredStateText(
  text: string | Buffer,
  opts: VerifyDesiredStateOptions,
): DesiredStateVerification {
  const L = DESIRED_STATE_LIMITS;
  const parsed = parseBoundedJson(
    text,
    { maxBytes: L.documentBytes, maxDepth: L.depth },
    "the desired-state document",
  );
  return parsed.ok ? verifyDesiredState(parsed.value, opts) : fail(parsed.reason, parsed.detail);
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
  const env = verifyEnvelope(s.document, s.signature, { root: opts.root, crls: opts.crls, at: now });
  if (!env.ok) return fail(env.reason, env.detail);
  let doc: DesiredStateDocument;
  try {
    doc = validateDesiredState(s.document);
  } catch (err) {
    if (err instanceof DesiredStateError) return fail("malformed", err.message);
    throw err;
  }
  const target = targetProblem(doc, opts.node);
  if (target) return target;
  const signer = { identity: formatIdentity(env.identity), fingerprint: env.fingerprint };
  const dc = opts.node.dataCenter;
  if (
    !isAuthorised(opts.authorisedSigners, { identity: env.identity, der: env.signer.der }, "desiredState", dc)
  )
    return fail(
      "unauthorised-signer",
      `signer ${signer.identity} (${signer.fingerprint}) is not authorised to sign desired state for data center ${dc}`,
    );
  const time = timeProblem(doc, now, opts.maxClockSkewSeconds ?? DESIRED_STATE_LIMITS.clockSkewSeconds);
  if (time) return time;
  const digest = desiredStateDigest(doc);
  const last = opts.lastAppliedVersion;
  if (last !== undefined && doc.version < last)
    return fail("rollback", `version ${doc.version} is older than version ${last}, the last applied`);
  if (last !== undefined && doc.version === last && digest !== opts.lastAppliedDigest)
    return fail(
      "version-reused",
      `version ${doc.version} was applied before with another content (digest ${opts.lastAppliedDigest ?? "not given"}, this one ${digest})`,
    );
  return { ok: true, document: doc, digest, signer, unchanged: last !== undefined && doc.version === last };
}

/** The document must be for this very computer, in the data center its own certificate names. */
function targetProblem(doc: DesiredStateDocument, node: Identity): DesiredStateVerification | undefined {
  if (node.kind !== "computer")
    return fail(
      "wrong-computer",
      `${formatIdentity(node)} is not a computer; only computers apply desired state`,
    );
  if (doc.dataCenter !== node.dataCenter)
    return fail(
      "wrong-data-center",
      `the document is for data center "${doc.dataCenter}"; this computer's certificate was issued by ${node.dataCenter}`,
    );
  if (doc.computerId !== node.name)
    return fail("wrong-computer", `the document is for computer "${doc.computerId}", this is "${node.name}"`);
  return undefined;
}

function timeProblem(
  doc: DesiredStateDocument,
  now: Date,
  skewSeconds: number,
): DesiredStateVerification | undefined {
  const long = validityProblem(doc);
  if (long) return fail("validity-too-long", long);
  if (now.getTime() >= Date.parse(doc.expiresAt))
    return fail("expired", `the document (version ${doc.version}) expired at ${doc.expiresAt}`);
  if (Date.parse(doc.issuedAt) - skewSeconds * 1000 > now.getTime())
    return fail(
      "not-yet-valid",
      `the document is issued at ${doc.issuedAt}, in the future of this node's clock (${now.toISOString()})`,
    );
  return undefined;
}

const fail = (
  reason: DesiredStateRefusal,
  detail: string,
): Extract<DesiredStateVerification, { ok: false }> => ({ ok: false, reason, detail });
