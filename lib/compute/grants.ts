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
  const compute = src.servers.filter((s) => s.roles.includes("compute") && !s.decommission);
  for (const c of clustersOf(src.clusters, owner)) {
    const scheduler = addressOf.get(c.scheduler.server);
    if (scheduler !== undefined) out.push({ address: scheduler, port: c.scheduler.port });
    if (!c.workers.dataCenters.includes(src.dataCenter) || compute.length === 0) continue;
    // Workers of this data center, spread evenly: at most ceil(count / servers) ports per server.
    const perServer = Math.ceil(c.workers.count / compute.length);
    for (const s of compute)
      for (let k = 0; k < perServer; k++) out.push({ address: s.address, port: c.workers.port + k });
  }
  return out;
}
