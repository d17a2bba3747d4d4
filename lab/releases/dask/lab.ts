/**
 * Dask in the lab: the release as the lab signs it (package versions of the built compute image)
 * and the lab's user cluster, written in each data center's stack as a user writes
 * `zeroroot:clusters`: alice's `analytics`, its scheduler on dc1's compute server, two workers
 * spread over dc1 and dc2. dc1's stack runs the scheduler and worker 0; dc2's stack holds the same
 * entry with the remote scheduler's address and runs worker 1 (lib/compute/layout.ts).
 */
import type { ClusterConfig } from "../../../lib/fleet/clusters";
import type { LabNetPlan } from "../../net";
import { labPackageVersion } from "../../orchestrate/image-spec";
import type { LabRelease } from "../../orchestrate/releases";
import { daskManifestBody, daskReleaseSources, daskReleaseVersion, DASK_RELEASE_NAME } from "./release";

export { DASK_RELEASE_NAME };

/** The lab's cluster: what the lab tests and `lab status` look for. */
export const LAB_CLUSTER = {
  owner: "dc1/user/alice",
  name: "analytics",
  schedulerDataCenter: "dc1",
  schedulerPort: 8786,
  workers: { count: 2, dataCenters: ["dc1", "dc2"], port: 8800 },
} as const;

export function daskLabRelease(): LabRelease {
  const versionOf = (p: string) => labPackageVersion("compute", p);
  return {
    name: DASK_RELEASE_NAME,
    version: daskReleaseVersion(versionOf("python3-distributed")),
    sources: daskReleaseSources(),
    manifest: daskManifestBody(versionOf),
  };
}

type Dc = LabNetPlan["dataCenters"][number];
type Server = Dc["servers"][number];

/** The compute server of the cluster's scheduler: the first compute server of its data center. */
export function labSchedulerServer(
  plan: LabNetPlan,
  isCompute: (d: Dc, s: Server) => boolean,
): { dc: Dc; server: Server } | undefined {
  const dc = plan.dataCenters.find((d) => d.id === LAB_CLUSTER.schedulerDataCenter);
  const server = dc?.servers.find((s) => isCompute(dc, s));
  return dc && server ? { dc, server } : undefined;
}

/** `zeroroot:clusters` of one data center's stack: [] where the cluster has nothing to run. */
export function labClusters(
  plan: LabNetPlan,
  dc: Dc,
  isCompute: (d: Dc, s: Server) => boolean,
  releaseRef: string,
): ClusterConfig[] {
  const sched = labSchedulerServer(plan, isCompute);
  const here = dc.id === LAB_CLUSTER.schedulerDataCenter;
  if (!sched || (!here && !(LAB_CLUSTER.workers.dataCenters as readonly string[]).includes(dc.id))) return [];
  if (!dc.servers.some((s) => isCompute(dc, s))) return [];
  return [
    {
      owner: LAB_CLUSTER.owner,
      name: LAB_CLUSTER.name,
      release: releaseRef,
      scheduler: here
        ? { server: sched.server.id, port: LAB_CLUSTER.schedulerPort }
        : {
            dataCenter: sched.dc.id,
            server: sched.server.id,
            address: sched.server.dataAddress,
            port: LAB_CLUSTER.schedulerPort,
          },
      workers: {
        ...LAB_CLUSTER.workers,
        dataCenters: [...LAB_CLUSTER.workers.dataCenters],
        remoteComputeServers: remoteComputeServers(plan, dc, isCompute),
      },
    },
  ];
}

/** The compute servers' addresses, in id order, of the cluster's other data centers (for the egress grants). */
function remoteComputeServers(
  plan: LabNetPlan,
  dc: Dc,
  isCompute: (d: Dc, s: Server) => boolean,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const other of plan.dataCenters) {
    if (other.id === dc.id || !(LAB_CLUSTER.workers.dataCenters as readonly string[]).includes(other.id))
      continue;
    const servers = other.servers
      .filter((s) => isCompute(other, s))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (servers.length > 0) out[other.id] = servers.map((s) => s.dataAddress);
  }
  return out;
}
