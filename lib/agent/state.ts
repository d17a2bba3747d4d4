/**
 * What the agent remembers between runs (its state directory, mode 0700, owned by zr-agent): the last
 * verified desired state, the last accepted version of each release name, and a record of every
 * instance it created. The record, not the control plane, is what the minimum persistence time is
 * judged against: `createdAt` is written by this node when it first created the instance.
 */
import type { InstanceSpec } from "../contracts/resources";

export const STATE_KIND = "zeroroot.agent-state/v1";

export interface InstanceRecord {
  readonly name: string;
  readonly partition: { readonly user: string; readonly uid: number };
  readonly release: InstanceSpec["release"];
  /** ISO instant this node first created the instance. */
  readonly createdAt: string;
  /** Once data-holding, always: true if the instance or its release ever said so. */
  readonly holdsData: boolean;
  /** The largest minimum persistence time any document gave this instance. */
  readonly minimumPersistenceSeconds: number;
  /** sha256 of the rendered supervisord section and files last written. */
  readonly renderDigest: string;
  /**
   * running: in the desired state and applied. retained: removed from the desired state but kept
   * (persistence window). stopped: stopped by the agent after an anomaly (stopOnAnomaly).
   */
  readonly phase: "running" | "retained" | "stopped";
}

export interface AgentState {
  readonly kind: typeof STATE_KIND;
  /** The last desired-state document verified and applied, as received (signed), to re-apply offline. */
  readonly desired?: {
    readonly version: number;
    readonly digest: string;
    readonly signed: unknown;
    readonly appliedAt: string;
  };
  /** Per release name: the highest version accepted and its manifest digest (rollback protection). */
  readonly releases: Readonly<Record<string, { readonly version: string; readonly digest: string }>>;
  /** Signed releases accepted, by `<name>@<version>`, so the node can re-render offline. */
  readonly releaseDocs: Readonly<Record<string, { readonly digest: string; readonly signed: unknown }>>;
  readonly instances: Readonly<Record<string, InstanceRecord>>;
}

export const emptyState = (): AgentState => ({
  kind: STATE_KIND,
  releases: {},
  releaseDocs: {},
  instances: {},
});

/**
 * Validates a state file read back from disk. The file is the node's own, but it is read as untrusted
 * input all the same (a truncated write, a disk error, a tamperer): a file of another kind or shape is
 * refused whole rather than half-read. The signed documents inside are re-verified by verifyStoredState.
 */
export function parseState(data: unknown, where: string): AgentState {
  const o = data as Partial<AgentState> | null;
  if (!o || typeof o !== "object" || o.kind !== STATE_KIND)
    throw new Error(
      `${where}: not an agent state file (kind ${JSON.stringify(o?.kind)}, expected "${STATE_KIND}")`,
    );
  const d = o.desired as Record<string, unknown> | undefined;
  if (
    d !== undefined &&
    (typeof d !== "object" || d === null || !Number.isSafeInteger(d.version) || typeof d.digest !== "string")
  )
    throw new Error(`${where}: desired: expected {version, digest, signed, appliedAt}`);
  const releases = map(
    o.releases,
    `${where}: releases`,
    (v) => typeof v.version === "string" && typeof v.digest === "string",
  );
  const releaseDocs = map(o.releaseDocs, `${where}: releaseDocs`, (v) => typeof v.digest === "string");
  const instances = map(o.instances, `${where}: instances`, isRecord);
  return {
    kind: STATE_KIND,
    desired: o.desired,
    releases: releases as AgentState["releases"],
    releaseDocs: releaseDocs as AgentState["releaseDocs"],
    instances: instances as AgentState["instances"],
  };
}

function map(
  v: unknown,
  where: string,
  valid: (entry: Record<string, unknown>) => boolean,
): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new Error(`${where}: expected an object`);
  for (const [k, e] of Object.entries(v))
    if (typeof e !== "object" || e === null || !valid(e as Record<string, unknown>))
      throw new Error(`${where}: entry ${JSON.stringify(k).slice(0, 80)} is not of the expected shape`);
  return v as Record<string, unknown>;
}

function isRecord(r: Record<string, unknown>): boolean {
  const p = r.partition as Record<string, unknown> | undefined;
  return (
    typeof r.name === "string" &&
    typeof p === "object" &&
    p !== null &&
    typeof p.user === "string" &&
    Number.isSafeInteger(p.uid) &&
    typeof r.createdAt === "string" &&
    !isNaN(Date.parse(r.createdAt)) &&
    typeof r.holdsData === "boolean" &&
    Number.isSafeInteger(r.minimumPersistenceSeconds) &&
    typeof r.release === "object" &&
    r.release !== null &&
    ["running", "retained", "stopped"].includes(r.phase as string)
  );
}
