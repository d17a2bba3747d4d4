/**
 * What a user may reach, resolved from one data-center stack's configuration to addresses and
 * ports: the servers and TCP ports of each datastore service named in the user's
 * `zeroroot:dataAccess` grants, and the scheduler and worker ports of the user's own clusters
 * (`zeroroot:clusters`): its scheduler, this data center's workers, and its workers in other data
 * centers from `workers.remoteComputeServers` (a stack sees only its own inventory).
 */
import {
  clustersOf,
  type ClusterConfig,
  placementOf,
  type ClustersConfig,
  type DataAccessConfig,
  type ServerConfig,
  type ServiceConfig,
} from "../fleet";
import type { EgressEndpoint } from "./egress";
import { clusterLayout } from "./layout";

export interface GrantSources {
  readonly dataAccess: DataAccessConfig;
  readonly services: readonly ServiceConfig[];
  readonly servers: readonly ServerConfig[];
  readonly clusters: ClustersConfig;
  /** This stack's data center name. */
  readonly dataCenter: string;
}

/** Endpoints `owner` (identity text `dc1/user/alice`) is granted in this data center; may repeat. */
export function grantedEndpoints(owner: string, src: GrantSources): EgressEndpoint[] {
  const out: EgressEndpoint[] = [];
  const addressOf = new Map(src.servers.map((s) => [s.id, s.address]));
  const granted = new Set(
    src.dataAccess.filter((e) => e.grants.some((g) => g.user === owner)).map((e) => e.service),
  );
  for (const service of src.services) {
    if (!granted.has(service.name)) continue;
    const ports = (service.endpoints ?? []).filter((e) => e.protocol === "tcp").map((e) => e.port);
    for (const id of placementOf(service, src.servers))
      for (const port of ports) out.push({ address: addressOf.get(id) as string, port });
  }
  for (const c of clustersOf(src.clusters, owner)) {
    // the same placement the instances get (layout.ts): the scheduler wherever it runs, this data
    // center's workers; workers of other data centers are in their own stacks (docs/compute.md)
    const layout = clusterLayout(c, src.dataCenter, src.servers);
    if (layout.schedulerEndpoint) out.push({ ...layout.schedulerEndpoint });
    for (const w of layout.workers) out.push({ address: w.address, port: w.port });
    for (const w of remoteWorkers(c, src.dataCenter)) out.push(w);
  }
  return out;
}

/**
 * The cluster's workers in the other data centers of `workers.dataCenters`, placed as their own
 * stacks place them (clusterLayout over that data center's compute servers in id order), from the
 * addresses `workers.remoteComputeServers` lists: the scheduler reaches every worker and workers
 * reach each other, across data centers.
 */
export function remoteWorkers(c: ClusterConfig, dataCenter: string): EgressEndpoint[] {
  const out: EgressEndpoint[] = [];
  for (const [dc, addresses] of Object.entries(c.workers.remoteComputeServers ?? {})) {
    if (dc === dataCenter) continue;
    // Stand-ins for that data center's inventory: only the order, the role and the address count.
    const servers = addresses.map(
      (address, i) =>
        ({
          id: `remote-${String(i).padStart(3, "0")}`,
          roles: ["compute"],
          address,
        }) as unknown as ServerConfig,
    );
    const asThere: ClusterConfig = {
      ...c,
      scheduler: { ...c.scheduler, dataCenter: c.scheduler.dataCenter ?? dataCenter },
    };
    for (const w of clusterLayout(asThere, dc, servers).workers)
      out.push({ address: w.address, port: w.port });
  }
  return out;
}
