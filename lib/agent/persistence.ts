/**
 * The minimum persistence guard (DESIGN invariant 6): a data-holding instance is not destroyed before
 * createdAt + minimumPersistenceSeconds, whatever the desired state says. Both figures come from the
 * node's own record, so a document that lowers the time or rewrites history changes nothing.
 */
import type { InstanceRecord } from "./state";

export type DestroyVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly until: Date; readonly remainingSeconds: number };

export function destroyVerdict(record: InstanceRecord, now: Date): DestroyVerdict {
  if (!record.holdsData) return { allowed: true };
  const created = Date.parse(record.createdAt);
  // an unreadable createdAt must never make a destroy possible
  if (!Number.isFinite(created))
    return { allowed: false, until: new Date(8.64e15), remainingSeconds: Infinity };
  const until = new Date(created + record.minimumPersistenceSeconds * 1000);
  if (now.getTime() >= until.getTime()) return { allowed: true };
  return { allowed: false, until, remainingSeconds: Math.ceil((until.getTime() - now.getTime()) / 1000) };
}

/** The record's persistence figures after a document mentions the instance again: never lowered. */
export function mergePersistence(
  record: Pick<InstanceRecord, "holdsData" | "minimumPersistenceSeconds">,
  spec: { holdsData: boolean; minimumPersistenceSeconds: number },
  releaseHoldsData: boolean,
): { holdsData: boolean; minimumPersistenceSeconds: number } {
  return {
    holdsData: record.holdsData || spec.holdsData || releaseHoldsData,
    minimumPersistenceSeconds: Math.max(record.minimumPersistenceSeconds, spec.minimumPersistenceSeconds),
  };
}
