/**
 * The reconcile plan: from a verified desired state, the releases verified for it and the node's own
 * instance records, what to do. Pure; the agent executes the actions in order (destroys first, so a
 * partition freed by a destroy can be reused by a new instance in the same pass).
 */
import type { InstanceSpec } from "../contracts/resources";
import { partitionIndex } from "../hardening/partitions";
import type { ReleaseManifest } from "../release";
import { destroyVerdict } from "./persistence";
import type { InstanceRecord } from "./state";

export type ReleaseCheck =
  | { readonly ok: true; readonly manifest: ReleaseManifest; readonly digest: string }
  | { readonly ok: false; readonly reason: string; readonly detail: string };

export type Refusal = "partition-unknown" | "partition-busy" | "partition-changed" | "release-refused";

export type Action =
  | { readonly kind: "destroy"; readonly record: InstanceRecord }
  | {
      readonly kind: "retain";
      readonly record: InstanceRecord;
      readonly until: Date;
      readonly remainingSeconds: number;
    }
  | {
      readonly kind: "apply";
      readonly spec: InstanceSpec;
      readonly manifest: ReleaseManifest;
      readonly manifestDigest: string;
      /** The node has no record of it: createdAt is now. */
      readonly isNew: boolean;
    }
  | { readonly kind: "keep-stopped"; readonly record: InstanceRecord }
  | { readonly kind: "refuse"; readonly name: string; readonly reason: Refusal; readonly detail: string };

export interface PlanInput {
  readonly desired: readonly InstanceSpec[];
  /** Verification of each desired instance's release, by instance name. */
  readonly releases: Readonly<Record<string, ReleaseCheck>>;
  readonly records: Readonly<Record<string, InstanceRecord>>;
  /** Number of partitions pre-created in the image. */
  readonly partitions: number;
  readonly now: Date;
}

export function planReconcile(input: PlanInput): Action[] {
  const desired = new Map(input.desired.map((s) => [s.name, s]));
  const destroys: Action[] = [];
  const applies: Action[] = [];
  /** Partitions held after this pass by a record that stays (running, retained or stopped). */
  const held = new Map<string, string>();
  for (const rec of Object.values(input.records)) {
    if (desired.has(rec.name)) {
      held.set(rec.partition.user, rec.name);
      continue;
    }
    const v = destroyVerdict(rec, input.now);
    if (v.allowed) destroys.push({ kind: "destroy", record: rec });
    else {
      destroys.push({ kind: "retain", record: rec, until: v.until, remainingSeconds: v.remainingSeconds });
      held.set(rec.partition.user, rec.name);
    }
  }
  for (const spec of input.desired) {
    const rec = input.records[spec.name];
    const refuse = (reason: Refusal, detail: string) =>
      applies.push({ kind: "refuse", name: spec.name, reason, detail });
    if (partitionIndex(spec.partition.user, spec.partition.uid, input.partitions) === undefined) {
      refuse(
        "partition-unknown",
        `partition ${spec.partition.user} (uid ${spec.partition.uid}) is not one of this node's ${input.partitions} pre-created partitions (zr-p000… with uids from 2100)`,
      );
      continue;
    }
    if (rec && rec.partition.user !== spec.partition.user) {
      refuse(
        "partition-changed",
        `instance ${spec.name} runs in ${rec.partition.user}; moving it to ${spec.partition.user} would leave its data behind: destroy it and create a new instance instead`,
      );
      continue;
    }
    const holder = held.get(spec.partition.user);
    if (holder !== undefined && holder !== spec.name) {
      const h = input.records[holder];
      refuse(
        "partition-busy",
        `partition ${spec.partition.user} still holds instance ${holder}${h && !desired.has(holder) ? " (kept for its minimum persistence time)" : ""}`,
      );
      continue;
    }
    const rel = input.releases[spec.name];
    if (!rel || !rel.ok) {
      refuse("release-refused", rel ? `${rel.reason}: ${rel.detail}` : "release not verified");
      continue;
    }
    if (rec?.phase === "stopped") {
      applies.push({ kind: "keep-stopped", record: rec });
      continue;
    }
    held.set(spec.partition.user, spec.name);
    applies.push({ kind: "apply", spec, manifest: rel.manifest, manifestDigest: rel.digest, isNew: !rec });
  }
  return [...destroys, ...applies];
}
