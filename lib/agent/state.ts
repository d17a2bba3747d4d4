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

/** Validates a state file's top level; a file of another kind is refused rather than half-read. */
export function parseState(data: unknown, where: string): AgentState {
  const o = data as Partial<AgentState> | null;
  if (!o || typeof o !== "object" || o.kind !== STATE_KIND)
    throw new Error(
      `${where}: not an agent state file (kind ${JSON.stringify(o?.kind)}, expected "${STATE_KIND}")`,
    );
  return {
    kind: STATE_KIND,
    desired: o.desired,
    releases: o.releases ?? {},
    releaseDocs: o.releaseDocs ?? {},
    instances: o.instances ?? {},
  };
}
