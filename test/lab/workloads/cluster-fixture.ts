/**
 * The lab compute.test.ts brings up and leaves, as the later workload files read it (not deployed
 * again): its layout once alice's cluster has every worker registered, and where its processes are.
 */
import { readLabLayout, type LabLayout } from "../../../lab/orchestrate/layout";
import { labStatus } from "../../../lab/orchestrate/status";
import { LAB_CLUSTER } from "../../../lab/releases/dask/lab";
import type { ClusterReport } from "../../../lab/releases/dask/status";

export type ClusterProcess = ClusterReport["processes"][number];

export interface LabCluster {
  readonly lab: LabLayout;
  readonly cluster: ClusterReport;
  /** A server's data address. */
  address(serverId: string): string;
  /** The `role` process (scheduler, worker) of data center `dc`. */
  proc(role: string, dc: string): ClusterProcess;
  /** A process's tls:// URL. */
  url(p: { server: string; port: number }): string;
}

/** Reads the lab and waits (bounded) for alice's cluster with every worker registered. */
export async function labWithCluster(timeoutMs = 180_000): Promise<LabCluster> {
  const lab = readLabLayout();
  if (!lab) throw new Error("no lab to read: run test/lab/workloads/compute.test.ts first (or `lab up`)");
  const end = Date.now() + timeoutMs;
  let cluster: ClusterReport | undefined;
  for (;;) {
    const st = await labStatus(lab);
    cluster = st.compute[0];
    if (cluster && cluster.registeredWorkers === LAB_CLUSTER.workers.count) break;
    if (Date.now() > end) throw new Error(`alice's cluster is not up: ${st.problems.join("; ")}`);
    await new Promise((r) => setTimeout(r, 3_000));
  }
  const found = cluster;
  const address = (serverId: string) =>
    lab.plan.dataCenters.flatMap((d) => d.servers).find((s) => s.id === serverId)!.dataAddress;
  return {
    lab,
    cluster: found,
    address,
    proc: (role, dc) => found.processes.find((p) => p.role === role && p.server.startsWith(`${dc}-`))!,
    url: (p) => `tls://${address(p.server)}:${p.port}`,
  };
}
