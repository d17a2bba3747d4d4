/**
 * What `startControlPlane` records in `<stateDir>/cluster.json`, so a later process (`zeroroot lab
 * down`, a test) can act on a cluster an earlier one started.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { IdentityFiles } from "./identity";

export interface MemberLayout {
  /** Data center id; also the etcd member name. */
  readonly dc: string;
  /** Network namespace the member runs in (the data center's management namespace). */
  readonly namespace: string;
  /** Address the member listens on inside its namespace. */
  readonly address: string;
  /** DNS name clients and peers use; carried by the member's certificate. Must be inside the DC's CA scope. */
  readonly dnsName: string;
}

export interface MemberState extends MemberLayout {
  readonly uid: number;
  readonly dir: string;
  readonly argv: readonly string[];
}

export interface ClusterState {
  readonly stateDir: string;
  readonly endpoints: readonly string[];
  readonly members: readonly MemberState[];
  /** The root identity (CN=root), used only to apply the plan. Key file mode 0400, owned by root. */
  readonly root: IdentityFiles;
  readonly trustAnchorFile: string;
  /** Certificates (PEM) of the CAs whose CRLs make etcd's revocation list (root and issuing CAs). */
  readonly issuers: readonly string[];
}

export const DEFAULT_STATE_DIR = "/var/lib/zeroroot-lab/controlplane";

export const stateFile = (stateDir: string): string => path.join(stateDir, "cluster.json");

export function readClusterState(stateDir: string = DEFAULT_STATE_DIR): ClusterState {
  const f = stateFile(stateDir);
  if (!fs.existsSync(f))
    throw new Error(
      `${f}: no control plane was started with this state directory; run startControlPlane (zeroroot lab up) first`,
    );
  return JSON.parse(fs.readFileSync(f, "utf8")) as ClusterState;
}

export function memberOf(state: ClusterState, dc: string): MemberState {
  const m = state.members.find((x) => x.dc === dc);
  if (!m)
    throw new Error(
      `no control-plane member for data center "${dc}"; members: ${state.members.map((x) => x.dc).join(", ")}`,
    );
  return m;
}
