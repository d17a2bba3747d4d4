/**
 * What a user may reach, resolved from one data-center stack's configuration to addresses and
 * ports: the servers and TCP ports of each datastore service named in the user's
 * `zeroroot:dataAccess` grants, and the scheduler and worker ports of the user's own clusters
 * (`zeroroot:clusters`) on this data center's compute servers. Endpoints in other data centers come
 * from their own stacks (not joined yet, docs/compute.md).
 */
import {
  clustersOf,
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
  }
  return out;
}
