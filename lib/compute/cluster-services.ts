/**
 * A user's Dask cluster as service instances of one data center's stack: the scheduler and each
 * worker become a service entry of their own (so buildInstances gives each its own partition user and
 * the agent obtains each its own service certificate by CSR), running the signed Dask release the
 * cluster names. Everything a process needs is in its parameters, which the release's start program
 * receives as command arguments (lab/releases/dask/dask-start.py):
 *
 * - `role` scheduler | worker; `listenAddress`/`port` its own endpoint; `schedulerAddress`/
 *   `schedulerPort` the scheduler's;
 * - `owner` (dc1/user/alice), `cluster` (the label), `dataCenters` (dc1,dc2) and `domain`: what the
 *   owner-only guard admits — the owner's identity triple and the cluster's own service instances;
 * - `zeroroot.owner`: the partition's owner, and `zeroroot.egress`: the endpoints it may reach, which
 *   the agent has PID 1 load as the partition's egress rules (egress-desired.ts, docs/compute.md).
 */
import {
  CLUSTERS_KEY,
  joinPath,
  loadServiceReleases,
  type ClustersConfig,
  type ConfigIssue,
  type LoadedRelease,
  type RawStackConfig,
  type ServerConfig,
  type ServiceConfig,
} from "../fleet";
import { EGRESS_PARAMETER, formatEgressParameter, OWNER_PARAMETER } from "./egress-desired";
import { grantedEndpoints, type GrantSources } from "./grants";
import { clusterLayout, type ClusterProcess } from "./layout";

export interface ClusterServicesContext {
  readonly dataCenter: string;
  readonly domain: string;
  /** This stack's servers (the inventory). */
  readonly servers: readonly ServerConfig[];
  /**
   * What the owners' egress grants are resolved from (grants.ts): each process gets the endpoints
   * its owner may reach as `zeroroot.egress`.
   * @default - no `zeroroot.egress` parameter (the agent then loads no egress rules for it)
   */
  readonly grants?: Pick<GrantSources, "dataAccess" | "services">;
}

export { OWNER_PARAMETER };

/** Service entries of every cluster of this stack that has a process in this data center. */
export function clusterServices(clusters: ClustersConfig, ctx: ClusterServicesContext): ServiceConfig[] {
  return clusters.flatMap((c) => {
    const layout = clusterLayout(c, ctx.dataCenter, ctx.servers);
    const sched = layout.schedulerEndpoint;
    if (sched === undefined) return [];
    const egress =
      ctx.grants === undefined
        ? undefined
        : formatEgressParameter(
            grantedEndpoints(c.owner, {
              ...ctx.grants,
              servers: ctx.servers,
              clusters,
              dataCenter: ctx.dataCenter,
            }),
          );
    const service = (role: "scheduler" | "worker", p: ClusterProcess): ServiceConfig => ({
      name: p.instance,
      release: c.release,
      placement: { servers: [p.server] },
      holdsData: false,
      endpoints: [{ port: p.port, protocol: "tcp", tls: true, requireClientCertificate: true }],
      parameters: {
        role,
        owner: c.owner,
        cluster: layout.label,
        dataCenters: c.workers.dataCenters.join(","),
        domain: ctx.domain,
        listenAddress: p.address,
        port: String(p.port),
        schedulerAddress: sched.address,
        schedulerPort: String(sched.port),
        [OWNER_PARAMETER]: c.owner,
        ...(egress === undefined ? {} : { [EGRESS_PARAMETER]: egress }),
      },
    });
    return [
      ...(layout.scheduler ? [service("scheduler", layout.scheduler)] : []),
      ...layout.workers.map((w) => service("worker", w)),
    ];
  });
}

/**
 * The signed releases the clusters name, read like services' (loadServiceReleases), each problem
 * reported at the cluster's own `release` key.
 */
export function loadClusterReleases(
  clusters: ClustersConfig,
  releasesDir: string,
  raw: RawStackConfig,
): { releases: Map<string, LoadedRelease>; issues: ConfigIssue[] } {
  const { releases, issues } = loadServiceReleases(
    clusters.map((c) => ({
      name: "cluster",
      release: c.release,
      placement: { servers: [c.scheduler.server] },
      holdsData: false,
      parameters: {},
    })),
    releasesDir,
    { ...raw, locate: undefined },
  );
  const moved = issues.map((i) => {
    const index = Number(/\[(\d+)\]/.exec(i.path)?.[1] ?? 0);
    const path = [CLUSTERS_KEY, index, "release"];
    return { ...i, path: joinPath(path), ...raw.locate?.(path) };
  });
  return { releases, issues: moved };
}
