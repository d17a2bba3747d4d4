/**
 * What the node does with a verified desired-state document given its data center's freshness
 * statement (lib/desired-state/freshness.ts): a new document is applied only when a statement vouches
 * for it now; without one the node holds, keeps running what it has and applies nothing new, as when
 * the control plane is unreachable. A document already applied keeps running when its statement
 * expires or disappears, with an alert: a frozen control plane is noticed within the short period.
 */
import type { FreshnessRefusal, FreshnessVerification } from "../desired-state";

export interface FreshnessDecision {
  /** apply: reconcile to the new document; hold: keep the last applied one; keep: it is the applied one. */
  readonly action: "apply" | "hold" | "keep";
  readonly alert?: {
    readonly kind: "desired-state-not-fresh" | "desired-state-stale";
    readonly severity: "critical" | "warning";
    readonly detail: string;
    /** Raised once per version and reason. */
    readonly dedupe: string;
  };
}

/**
 * Refusals that only say time passed or the timestamp service is away (a frozen, partitioned or
 * restarting site): a warning. "wrong-version" is here too: right after a deploy the key still holds
 * the statement of the previous version until the site signs the new one (within seconds; a replay
 * looks the same and is held all the same). Every other refusal means someone offered a statement
 * that is not genuine or not for this document (a forged signer, another content): critical.
 */
const AGED: ReadonlySet<FreshnessRefusal> = new Set([
  "missing",
  "wrong-version",
  "expired",
  "not-yet-valid",
  "signer-expired",
  "crl-unusable",
]);

export function freshnessDecision(
  doc: { readonly version: number; readonly unchanged: boolean },
  fresh: FreshnessVerification,
): FreshnessDecision {
  if (fresh.ok) return { action: doc.unchanged ? "keep" : "apply" };
  const severity = AGED.has(fresh.reason) ? "warning" : "critical";
  if (doc.unchanged)
    return {
      action: "keep",
      alert: {
        kind: "desired-state-stale",
        severity,
        detail: `the applied desired state (version ${doc.version}) is no longer vouched for as current (${fresh.reason}): ${fresh.detail}; instances keep running, nothing new is applied until the data center's timestamp service vouches again`,
        dedupe: `stale:${doc.version}:${fresh.reason}`,
      },
    };
  return {
    action: "hold",
    alert: {
      kind: "desired-state-not-fresh",
      severity,
      detail: `desired state version ${doc.version} is not applied: no valid freshness statement (${fresh.reason}): ${fresh.detail}; keeping the last applied state`,
      dedupe: `not-fresh:${doc.version}:${fresh.reason}`,
    },
  };
}
