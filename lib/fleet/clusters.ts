/**
 * Per-user compute clusters (Dask, issue #12): `zeroroot:clusters` in the data-center stack that runs
 * the cluster's scheduler. A cluster belongs to one verified user identity (the triple of
 * lib/pki/identity.ts, never a CN alone); only that user's certificate is meant to open it, and the
 * per-uid egress firewall (lib/compute/egress.ts) lets the cluster's processes reach only what the
 * owner is granted.
 *
 * Shape:
 *
 * ```yaml
 * zeroroot:clusters:
 *   - owner: dc1/user/alice      # a user identity: issuing data center/user/name
 *     name: analytics            # lower-case letters, digits, hyphens; unique per owner
 *     scheduler:
 *       server: c1               # a compute server of this data center
 *       port: 8786               # 1024-65535, TLS with client certificates (tls:// comms)
 *     workers:
 *       count: 4                 # 1-64 worker processes, each under its own partition user
 *       dataCenters: [dc1, dc2]  # spread evenly over the compute servers of these data centers;
 *                                # this stack's own data center first if it is listed
 *       port: 8800               # first worker port; a server's k-th worker listens on port + k
 * ```
 *
 * Why in the data-center stack of the scheduler: the scheduler is the cluster's identity and
 * endpoint, and a stack's checks see its own inventory (compute servers, service ports); workers in
 * other data centers are placed by their own stacks from the same entry (not done yet, docs/compute.md).
 *
 * TypeScript: `ClustersConfig` (= `ClusterConfig[]`); `checkClusters` for what needs the inventory.
 */
import { z } from "zod";
import { grantSchema } from "./data-access";
import { ConfigIssue, joinPath } from "./issues";
import { dataCenterSchema, serverSchema, type ServerConfig } from "./schema";
import { endpointSchema, placementOf, SERVICES_KEY, type ServiceConfig } from "./services";
import type { PathSegment, RawStackConfig } from "./validate";

export const CLUSTERS_KEY = "zeroroot:clusters";

/** Bounds, each defined once: a cluster entry costs processes, certificates and firewall rules. */
export const CLUSTER_LIMITS = {
  /** Clusters in one stack. */
  clusters: 64,
  /** Workers of one cluster. */
  workers: 64,
  /** Data centers one cluster spreads its workers over. */
  dataCenters: 8,
} as const;

const clusterName = z
  .string({ error: "a cluster name: lower-case letters, digits and hyphens, starting with a letter" })
  .regex(/^[a-z][a-z0-9-]{0,30}$/, {
    error:
      "a cluster name: lower-case letters, digits and hyphens, starting with a letter, at most 31 characters",
  });

/** The same unprivileged port rule as a service endpoint's (lib/fleet/services.ts). */
const port = endpointSchema.shape.port;

export const clusterSchema = z.strictObject({
  owner: grantSchema.shape.user,
  name: clusterName,
  scheduler: z.strictObject({
    server: serverSchema.shape.id,
    port,
  }),
  workers: z.strictObject({
    count: z
      .number({ error: `a number of workers from 1 to ${CLUSTER_LIMITS.workers}` })
      .int({ error: "a whole number of workers" })
      .min(1, { error: "at least 1 worker" })
      .max(CLUSTER_LIMITS.workers, { error: `at most ${CLUSTER_LIMITS.workers} workers` }),
    dataCenters: z
      .array(dataCenterSchema.shape.name, { error: "a list of data-center names, e.g. [dc1, dc2]" })
      .min(1, { error: "at least one data center" })
      .max(CLUSTER_LIMITS.dataCenters, { error: `at most ${CLUSTER_LIMITS.dataCenters} data centers` }),
    port,
  }),
});

export const clustersSchema = z
  .array(clusterSchema, { error: "a list of clusters ({owner, name, scheduler, workers})" })
  .max(CLUSTER_LIMITS.clusters, { error: `at most ${CLUSTER_LIMITS.clusters} clusters per stack` });

export type ClusterConfig = z.output<typeof clusterSchema>;
export type ClustersConfig = readonly ClusterConfig[];

/**
 * Cross-field checks against this stack: (owner, name) listed once, the scheduler on a compute
 * server of this data center, this data center listed at most once, worker ports inside 65535, and
 * no port shared with a service on the scheduler's server. Returns every issue.
 */
export function checkClusters(
  clusters: ClustersConfig,
  dataCenter: string,
  servers: readonly (ServerConfig | undefined)[],
  services: readonly ServiceConfig[],
  raw: RawStackConfig,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const report = (path: readonly PathSegment[], received: string, allowed: string, fix: string) =>
    issues.push({ path: joinPath(path), received, allowed, fix, ...raw.locate?.(path) });
  const known = servers.filter((s): s is ServerConfig => s !== undefined);
  const compute = known.filter((s) => s.roles.includes("compute") && !s.decommission).map((s) => s.id);
  const seen = new Map<string, number>();
  clusters.forEach((c, i) => {
    const at = (...rest: PathSegment[]) => [CLUSTERS_KEY, i, ...rest];
    const key = `${c.owner} ${c.name}`;
    const first = seen.get(key);
    if (first !== undefined)
      report(
        at("name"),
        JSON.stringify(c.name),
        "a cluster name used once per owner",
        `rename it or remove the duplicate (the first is ${joinPath([CLUSTERS_KEY, first])})`,
      );
    else seen.set(key, i);
    if (!compute.includes(c.scheduler.server))
      report(
        at("scheduler", "server"),
        JSON.stringify(c.scheduler.server),
        `a compute server of this data center (${compute.join(", ") || "none in this stack"})`,
        "name a server with the compute role, or give the server that role",
      );
    c.workers.dataCenters.forEach((dc, j) => {
      if (c.workers.dataCenters.indexOf(dc) !== j)
        report(
          at("workers", "dataCenters", j),
          JSON.stringify(dc),
          "each data center listed once",
          `remove the second ${JSON.stringify(dc)}`,
        );
    });
    if (c.workers.dataCenters.includes(dataCenter) && compute.length === 0)
      report(
        at("workers", "dataCenters"),
        `${JSON.stringify(dataCenter)}, which has no compute server`,
        "data centers with at least one compute server",
        `give a server of ${dataCenter} the compute role or remove ${dataCenter} from the list`,
      );
    // Worst case all workers on one server: ports port .. port + count - 1.
    const last = c.workers.port + c.workers.count - 1;
    if (last > 65535)
      report(
        at("workers", "port"),
        String(c.workers.port),
        `a first worker port such that port + count - 1 <= 65535 (here at most ${65536 - c.workers.count})`,
        "choose a lower first worker port",
      );
    const taken = servicePortsOn(c.scheduler.server, services, known);
    const clash = taken.get(c.scheduler.port);
    if (clash !== undefined)
      report(
        at("scheduler", "port"),
        String(c.scheduler.port),
        `a port no service uses on ${c.scheduler.server}`,
        `choose another port (${clash} uses ${c.scheduler.port} there)`,
      );
  });
  return issues;
}

/** TCP ports of services placed on `server`, to the path of the service that uses each. */
function servicePortsOn(
  server: string,
  services: readonly ServiceConfig[],
  servers: readonly ServerConfig[],
): Map<number, string> {
  const ports = new Map<number, string>();
  services.forEach((s, i) => {
    if (!placementOf(s, servers).includes(server)) return;
    for (const e of s.endpoints ?? [])
      if (e.protocol === "tcp" && !ports.has(e.port)) ports.set(e.port, joinPath([SERVICES_KEY, i]));
  });
  return ports;
}

/** The clusters `owner` (identity text `dc1/user/alice`) has in this stack. */
export function clustersOf(clusters: ClustersConfig, owner: string): ClusterConfig[] {
  return clusters.filter((c) => c.owner === owner);
}
