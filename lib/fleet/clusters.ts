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
 *     release: dask@2022.12.3    # the signed Dask release its processes run
 *     scheduler:
 *       server: c1               # a compute server of this data center
 *       port: 8786               # in the compute ports (8786-8849), TLS with client certificates
 *     workers:
 *       count: 4                 # 1-64 worker processes, each under its own partition user
 *       dataCenters: [dc1, dc2]  # spread evenly over the compute servers of these data centers;
 *                                # this stack's own data center first if it is listed
 *       port: 8800               # first worker port; a server's k-th worker listens on port + k
 * ```
 *
 * Why in the data-center stack of the scheduler: the scheduler is the cluster's identity and
 * endpoint, and a stack's checks see its own inventory (compute servers, service ports). Workers in
 * another data center are placed by that data center's stack from the same entry, whose scheduler
 * then names the remote server and its address: `scheduler: {dataCenter: dc1, server: dc1-c01,
 * address: 10.1.0.12, port: 8786}` (a stack sees only its own inventory; docs/compute.md).
 *
 * TypeScript: `ClustersConfig` (= `ClusterConfig[]`); `checkClusters` for what needs the inventory.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { COMPUTE_PORTS } from "../hardening/roles";
import { grantSchema } from "./data-access";
import { ConfigIssue, joinPath } from "./issues";
import { dataCenterSchema, serverSchema, type ServerConfig } from "./schema";
import { endpointSchema, placementOf, serviceSchema, SERVICES_KEY, type ServiceConfig } from "./services";
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
  release: serviceSchema.shape.release,
  scheduler: z.strictObject({
    server: serverSchema.shape.id,
    port,
    /** @default - this stack's data center; another one only in a stack that places workers */
    dataCenter: dataCenterSchema.shape.name.optional(),
    /** The remote scheduler server's data address; never given for a scheduler of this stack. */
    address: z.string({ error: "an IPv4 or IPv6 address such as 10.1.0.12" }).max(45).optional(),
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
    /**
     * The data addresses of the compute servers, in server-id order, of each other data center of
     * `dataCenters`: a stack sees only its own inventory, and its processes' egress grants need the
     * cluster's members elsewhere (lib/compute/grants.ts places them the way that stack does).
     * @default - no grant to members in other data centers (they cannot be reached)
     */
    remoteComputeServers: z
      .record(
        dataCenterSchema.shape.name,
        z
          .array(
            z
              .string({ error: "an IPv4 or IPv6 address such as 10.2.0.14" })
              .max(45)
              .refine((a) => isIP(a) !== 0, { error: "an IPv4 or IPv6 address such as 10.2.0.14" }),
          )
          .max(CLUSTER_LIMITS.workers, { error: `at most ${CLUSTER_LIMITS.workers} servers` }),
        { error: "a mapping of data center to its compute servers' addresses, e.g. {dc2: [10.2.0.14]}" },
      )
      .optional(),
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
    const remote = c.scheduler.dataCenter !== undefined && c.scheduler.dataCenter !== dataCenter;
    if (remote) checkRemoteScheduler(c, (p, r, a, f) => report(at(...p), r, a, f));
    else if (c.scheduler.address !== undefined)
      report(
        at("scheduler", "address"),
        JSON.stringify(c.scheduler.address),
        "no address: a scheduler of this data center has its server's address from the inventory",
        "remove scheduler.address (it is only for a scheduler in another data center)",
      );
    else if (!compute.includes(c.scheduler.server))
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
    for (const dc of Object.keys(c.workers.remoteComputeServers ?? {}))
      if (dc === dataCenter || !c.workers.dataCenters.includes(dc))
        report(
          at("workers", "remoteComputeServers", dc),
          JSON.stringify(dc),
          `another data center of workers.dataCenters (this stack is ${dataCenter}'s; its servers come from the inventory)`,
          `remove ${JSON.stringify(dc)} or add it to workers.dataCenters`,
        );
    if (c.workers.dataCenters.includes(dataCenter) && compute.length === 0)
      report(
        at("workers", "dataCenters"),
        `${JSON.stringify(dataCenter)}, which has no compute server`,
        "data centers with at least one compute server",
        `give a server of ${dataCenter} the compute role or remove ${dataCenter} from the list`,
      );
    // The compute image opens only COMPUTE_PORTS; worst case all workers on one server.
    const { first: low, last: high } = COMPUTE_PORTS;
    if (c.scheduler.port < low || c.scheduler.port > high)
      report(
        at("scheduler", "port"),
        String(c.scheduler.port),
        `a port of the compute servers' firewall, ${low}-${high}`,
        `choose a scheduler port from ${low} to ${high}`,
      );
    if (c.workers.port < low || c.workers.port + c.workers.count - 1 > high)
      report(
        at("workers", "port"),
        String(c.workers.port),
        `a first worker port from ${low} such that port + count - 1 <= ${high} (here at most ${high + 1 - c.workers.count})`,
        "choose a first worker port inside the compute ports",
      );
    else if (c.scheduler.port >= c.workers.port && c.scheduler.port < c.workers.port + c.workers.count)
      report(
        at("scheduler", "port"),
        String(c.scheduler.port),
        `a port outside the workers' ports ${c.workers.port}-${c.workers.port + c.workers.count - 1}`,
        "move the scheduler port or the first worker port",
      );
    // An entry listed only for this stack's datastores (cluster-job-access.ts) listens nowhere here.
    const listens = (o: ClusterConfig) =>
      o.scheduler.dataCenter === undefined ||
      o.scheduler.dataCenter === dataCenter ||
      o.workers.dataCenters.includes(dataCenter);
    const overlap = listens(c) ? clusters.findIndex((o, j) => j < i && listens(o) && portsOverlap(o, c)) : -1;
    if (overlap >= 0)
      report(
        at("workers", "port"),
        String(c.workers.port),
        `ports no other cluster of this stack uses (${joinPath([CLUSTERS_KEY, overlap])} uses ${portsText(clusters[overlap])})`,
        "give each cluster its own ports",
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

/** A remote scheduler: an address literal. */
function checkRemoteScheduler(
  c: ClusterConfig,
  report: (path: PathSegment[], received: string, allowed: string, fix: string) => void,
): void {
  if (c.scheduler.address === undefined || isIP(c.scheduler.address) === 0)
    report(
      ["scheduler", "address"],
      c.scheduler.address === undefined ? "nothing" : JSON.stringify(c.scheduler.address),
      `the data address of ${c.scheduler.server}, an IPv4 or IPv6 address (this stack cannot see ${c.scheduler.dataCenter}'s servers)`,
      `copy the address of ${c.scheduler.server} from the stack of ${c.scheduler.dataCenter}`,
    );
  // Not among the workers' data centers: allowed for the job lines of this stack's datastores only
  // (checkClusterJobAccess, cluster-job-access.ts, which has the grants).
}

/** Every port a cluster may listen on (scheduler and, worst case, all workers on one server). */
const clusterPorts = (c: ClusterConfig): number[] => [
  c.scheduler.port,
  ...Array.from({ length: c.workers.count }, (_, k) => c.workers.port + k),
];
const portsOverlap = (a: ClusterConfig, b: ClusterConfig): boolean => {
  const mine = new Set(clusterPorts(a));
  return clusterPorts(b).some((p) => mine.has(p));
};
const portsText = (c: ClusterConfig) =>
  `${c.scheduler.port} and ${c.workers.port}-${c.workers.port + c.workers.count - 1}`;

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
