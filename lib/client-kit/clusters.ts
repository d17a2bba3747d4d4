/**
 * A user's Dask clusters (`zeroroot:clusters`, lib/fleet/clusters.ts) for the `dask` kit: the
 * clusters the verified identity owns, each taken once, from the stack of the data center that runs
 * its scheduler, and the `distributed.security.Security` arguments that open it with the kit's files.
 */
import * as fleet from "../fleet";
import { formatIdentity, type Identity } from "../pki";
import type { KitFilePaths } from "./connections";

type DcConfig = Extract<fleet.ResolvedStackConfig, { kind: "dataCenter" }>;

/** One of the user's clusters, where a client connects to its scheduler. */
export interface DaskClusterEndpoint {
  readonly dataCenter: string;
  readonly cluster: string;
  /** The scheduler server's host name from the inventory (`c01.dc1.zeroroot.example`). */
  readonly host: string;
  /** The scheduler server's data address from the inventory. */
  readonly address: string;
  readonly port: number;
}

/** What one data-center stack says of `identity`'s clusters. */
export interface StackClusters {
  /** Clusters whose scheduler runs in this data center. */
  readonly local: readonly DaskClusterEndpoint[];
  /** Copies whose scheduler runs in another data center: `${dataCenter}/${cluster}` of that scheduler. */
  readonly remote: readonly string[];
}

/**
 * The clusters of one stack owned by exactly `identity` (data center, kind user and name, as
 * `clustersOf` compares the owner's whole identity text: dc2/user/alice owns none of
 * dc1/user/alice's). A copy with a remote scheduler is only noted: the scheduler's own stack lists
 * the cluster with its server in the inventory, so the kit takes it from there, once.
 */
export function clustersInStack(config: DcConfig, identity: Identity): StackClusters {
  const here = config.dataCenter.name;
  const local: DaskClusterEndpoint[] = [];
  const remote: string[] = [];
  if (identity.kind !== "user") return { local, remote };
  for (const c of fleet.clustersOf(config.clusters, formatIdentity(identity))) {
    const at = c.scheduler.dataCenter ?? here;
    if (at !== here) {
      remote.push(`${at}/${c.name}`);
      continue;
    }
    const server = config.dataCenter.servers.find((s) => s.id === c.scheduler.server);
    if (!server) continue; // checkClusters refused this already
    // The host name, as the datastore kits use: the name the data center publishes for the server,
    // what a client outside the platform resolves. Dask's client does not check the name
    // (distributed sets check_hostname=False and verifies the chain against the root only), so the
    // choice is about reaching the server; `address` is the data address for a client without DNS.
    local.push({
      dataCenter: here,
      cluster: c.name,
      host: server.hostname,
      address: server.address,
      port: c.scheduler.port,
    });
  }
  return { local, remote };
}

/**
 * Joins the stacks' answers: each (data center, cluster) once, in stack order. A cluster seen only
 * as a remote copy (its scheduler's stack not among the stacks read) gets a warning, not an entry.
 */
export function mergeClusters(
  perStack: readonly { readonly shown: string; readonly found: StackClusters }[],
  warnings: string[],
): DaskClusterEndpoint[] {
  const out = new Map<string, DaskClusterEndpoint>();
  for (const { shown, found } of perStack)
    for (const c of found.local) {
      const key = `${c.dataCenter}/${c.cluster}`;
      if (out.has(key))
        warnings.push(
          `${shown}: cluster ${key} is listed by another stack of ${c.dataCenter} too; kept the first`,
        );
      else out.set(key, c);
    }
  const remote = new Set(perStack.flatMap((s) => s.found.remote));
  for (const key of remote)
    if (!out.has(key))
      warnings.push(
        `cluster ${key}: its scheduler's stack (data center ${key.split("/")[0]}) is not among the stacks read; no entry for it (give --stacks the directory with that stack)`,
      );
  return [...out.values()];
}

/** `distributed.security.Security` keyword arguments: root, chain and key of the kit, TLS required. */
export function daskSecurity(f: KitFilePaths): Record<string, string | boolean> {
  return {
    tls_ca_file: f.root,
    tls_client_cert: f.cert,
    tls_client_key: f.keyPem,
    require_encryption: true,
  };
}

/** One clusters.json entry. */
export function daskEntry(c: DaskClusterEndpoint, f: KitFilePaths): Record<string, unknown> {
  return {
    dataCenter: c.dataCenter,
    cluster: c.cluster,
    scheduler: `tls://${c.host}:${c.port}`,
    address: c.address,
    security: daskSecurity(f),
  };
}
