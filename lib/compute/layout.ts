/**
 * Where a user's Dask cluster runs, as one data center's stack sees it: its scheduler (when this
 * data center runs it) and this data center's share of the workers, each a process of its own under
 * its own partition user. Pure and deterministic, so every stack of the cluster computes the same
 * split from the same `zeroroot:clusters` entry, and the egress grants (grants.ts) and the
 * instances (cluster-services.ts) agree on every address and port.
 *
 * Split: worker k goes to the data center `workers.dataCenters[k mod n]`; inside it, round-robin over
 * the compute servers in id order; a server's j-th worker of the cluster listens on `workers.port + j`.
 */
import { createHash } from "node:crypto";
import type { ClusterConfig, ServerConfig } from "../fleet";
import { parseIdentity } from "../pki/identity";

export interface ClusterProcess {
  /** The instance name: `<cluster label>-s` for the scheduler, `<cluster label>-w<k>` for worker k. */
  readonly instance: string;
  readonly server: string;
  readonly address: string;
  readonly port: number;
}

export interface ClusterLayout {
  /** The cluster's instance-name prefix (a DNS label prefix, see clusterLabel). */
  readonly label: string;
  /** The scheduler's endpoint, wherever it runs. */
  readonly schedulerEndpoint: { readonly address: string; readonly port: number } | undefined;
  /** The scheduler, when this data center runs it. */
  readonly scheduler: ClusterProcess | undefined;
  /** This data center's workers. */
  readonly workers: readonly ClusterProcess[];
}

/** Room left in a service name (63) for `-s` / `-w63` and a DNS label under the server's hostname. */
const LABEL_MAX = 50;

/**
 * The cluster's instance-name prefix: `dask-<dc>-<user>-<name>` (readable in `lab status` and in
 * the service certificates' names), or `dask-<16 hex of its hash>` when that is too long. Two owners
 * never share a label: the owner's data center and name are part of it or of the hash.
 */
export function clusterLabel(c: Pick<ClusterConfig, "owner" | "name">): string {
  const id = parseIdentity(c.owner);
  const readable = typeof id === "string" ? undefined : `dask-${id.dataCenter}-${id.name}-${c.name}`;
  if (readable !== undefined && /^[a-z][a-z0-9-]*$/.test(readable) && readable.length <= LABEL_MAX)
    return readable;
  return `dask-${createHash("sha256").update(`${c.owner}\n${c.name}`).digest("hex").slice(0, 16)}`;
}

/** The compute servers workers may use: compute role, not being decommissioned, in id order. */
export const computeServers = (servers: readonly ServerConfig[]): ServerConfig[] =>
  servers
    .filter((s) => s.roles.includes("compute") && !s.decommission)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/** The cluster as the stack of `dataCenter` (with `servers`, its inventory) runs it. */
export function clusterLayout(
  c: ClusterConfig,
  dataCenter: string,
  servers: readonly ServerConfig[],
): ClusterLayout {
  const label = clusterLabel(c);
  const local = c.scheduler.dataCenter === undefined || c.scheduler.dataCenter === dataCenter;
  const schedulerServer = local ? servers.find((s) => s.id === c.scheduler.server) : undefined;
  const schedulerAddress = local ? schedulerServer?.address : c.scheduler.address;
  const scheduler =
    schedulerServer === undefined
      ? undefined
      : {
          instance: `${label}-s`,
          server: schedulerServer.id,
          address: schedulerServer.address,
          port: c.scheduler.port,
        };
  const compute = computeServers(servers);
  const d = c.workers.dataCenters.indexOf(dataCenter);
  const n = c.workers.dataCenters.length;
  const onServer = new Map<string, number>();
  const workers: ClusterProcess[] = [];
  if (d >= 0 && compute.length > 0)
    for (let k = d, j = 0; k < c.workers.count; k += n, j++) {
      const s = compute[j % compute.length];
      const slot = onServer.get(s.id) ?? 0;
      onServer.set(s.id, slot + 1);
      workers.push({
        instance: `${label}-w${k}`,
        server: s.id,
        address: s.address,
        port: c.workers.port + slot,
      });
    }
  return {
    label,
    schedulerEndpoint:
      schedulerAddress === undefined ? undefined : { address: schedulerAddress, port: c.scheduler.port },
    scheduler,
    workers,
  };
}
