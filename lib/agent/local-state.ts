/**
 * Re-verifying what the agent stored. Every signed document read back from the node's disk (the last
 * applied desired state, each accepted release) is verified exactly like one read from the control
 * plane: signature, chain, signer identity and grant, target computer and data center, version and
 * expiry. The node's disk is not trusted more than the network: a re-written local copy (injected
 * parameters, minimumPersistenceSeconds 0, holdsData false) must not be applied at the next start.
 */
import { createHash } from "node:crypto";
import type { Identity } from "../pki";
import { verifyDesiredState } from "../desired-state";
import { verifyRelease, type AuthorisationList } from "../release";
import { releaseKey } from "./releases";
import type { AgentState } from "./state";

export interface StoredTrust {
  readonly root: string;
  readonly authorisation: AuthorisationList;
  readonly crls?: readonly string[];
  /** This node, from its own verified computer certificate. */
  readonly node: Identity;
  readonly now: Date;
}

/** One stored document refused, with the evidence an alert carries. */
export interface LocalRefusal {
  /** "desired state" or "release <name>@<version>". */
  readonly what: string;
  readonly reason: string;
  readonly detail: string;
  /** `sha256:<hex>` of the stored document as read (its JSON text). */
  readonly digest: string;
  /**
   * True when the content itself is wrong (tampered, truncated, not the recorded version): the file is
   * kept aside as evidence. False when only time or trust moved on (expired, signer expired, revoked
   * CRL unusable): the document is just not applied any more.
   */
  readonly tampered: boolean;
}

/** Failures that say the clock or the trust moved on, not that the stored bytes changed. */
const AGED = new Set(["expired", "signer-expired", "not-yet-valid", "crl-unusable", "revoked"]);

/**
 * The state with every stored document that no longer verifies removed (the records it was applied
 * with, version and digest, are kept: they still protect against rollback), and why each was removed.
 */
export function verifyStoredState(
  state: AgentState,
  trust: StoredTrust,
): { state: AgentState; refusals: LocalRefusal[] } {
  const refusals: LocalRefusal[] = [];
  let desired = state.desired;
  if (desired?.signed !== undefined) {
    const v = verifyDesiredState(desired.signed, {
      root: trust.root,
      authorisedSigners: trust.authorisation,
      node: trust.node,
      crls: trust.crls,
      lastAppliedVersion: desired.version,
      lastAppliedDigest: desired.digest,
      now: trust.now,
    });
    const refusal = !v.ok
      ? { reason: v.reason, detail: v.detail }
      : !v.unchanged
        ? {
            reason: "not-recorded",
            detail: `it is version ${v.document.version}; the record says version ${desired.version} was applied`,
          }
        : undefined;
    if (refusal) {
      refusals.push({
        what: "desired state",
        ...refusal,
        digest: digestOf(desired.signed),
        tampered: !AGED.has(refusal.reason),
      });
      desired = { ...desired, signed: undefined };
    }
  }
  const releaseDocs: Record<string, AgentState["releaseDocs"][string]> = {};
  for (const [key, entry] of Object.entries(state.releaseDocs)) {
    const v = verifyRelease(entry.signed, {
      root: trust.root,
      authorisation: trust.authorisation,
      crls: trust.crls,
      now: trust.now,
    });
    const refusal = !v.ok
      ? { reason: v.reason, detail: v.detail }
      : releaseKey(v.manifest) !== key || v.manifestDigest !== entry.digest
        ? {
            reason: "not-recorded",
            detail: `it is ${releaseKey(v.manifest)} with digest ${v.manifestDigest}; the record says ${key} with ${entry.digest}`,
          }
        : undefined;
    if (refusal)
      refusals.push({
        what: `release ${key}`,
        ...refusal,
        digest: digestOf(entry.signed),
        tampered: !AGED.has(refusal.reason),
      });
    else releaseDocs[key] = entry;
  }
  return { state: { ...state, desired, releaseDocs }, refusals };
}

function digestOf(v: unknown): string {
  return `sha256:${createHash("sha256")
    .update(JSON.stringify(v) ?? "")
    .digest("hex")}`;
}
