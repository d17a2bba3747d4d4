/**
 * A cluster listed in a stack that runs no process of it (docs/compute.md, "Job certificates": the
 * datastores' job lines). A stack sees only its own inventory and the clusters it lists, so a
 * cluster whose owner is granted a datastore service of this stack must be listed here even when
 * its scheduler and workers all run in other data centers (remote scheduler, this data center not
 * among the workers'): such an entry runs nothing and only gives the datastores its job lines. It
 * is refused unless its owner is granted a datastore of this stack (otherwise it would do nothing,
 * likely a mistake) and unless `workers.remoteComputeServers` names every worker data center (it
 * exists only to place them). Pure.
 *
 * A cluster that does run here and leaves a worker data center out of `remoteComputeServers` is not
 * refused (that is the documented default: no egress to those members); its workers there get no
 * job lines here, which the stack program warns about (lib/compute/job-access.ts `jobAccessGaps`).
 */
import { CLUSTERS_KEY, type ClustersConfig } from "./clusters";
import { type DataAccessConfig } from "./data-access";
import { datastoreEngineOf } from "./datastore-engines";
import { ConfigIssue, joinPath } from "./issues";
import { parseReleaseRef, type ServiceConfig } from "./services";
import type { PathSegment, RawStackConfig } from "./validate";

/** The datastore services of this stack each user is granted, by user identity. */
function datastoreGrants(
  dataAccess: DataAccessConfig,
  services: readonly ServiceConfig[],
): Map<string, string[]> {
  const datastores = new Set(
    services.filter((s) => datastoreEngineOf(parseReleaseRef(s.release).name)).map((s) => s.name),
  );
  const out = new Map<string, string[]>();
  for (const e of dataAccess)
    if (datastores.has(e.service))
      for (const g of e.grants) out.set(g.user, [...new Set([...(out.get(g.user) ?? []), e.service])]);
  return out;
}

export function checkClusterJobAccess(
  clusters: ClustersConfig,
  dataCenter: string,
  dataAccess: DataAccessConfig,
  services: readonly ServiceConfig[],
  raw: RawStackConfig,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const granted = datastoreGrants(dataAccess, services);
  clusters.forEach((c, i) => {
    const report = (rest: PathSegment[], received: string, allowed: string, fix: string) => {
      const path = [CLUSTERS_KEY, i, ...rest];
      issues.push({ path: joinPath(path), received, allowed, fix, ...raw.locate?.(path) });
    };
    const here = granted.get(c.owner) ?? [];
    const remoteScheduler = c.scheduler.dataCenter !== undefined && c.scheduler.dataCenter !== dataCenter;
    if (!remoteScheduler || c.workers.dataCenters.includes(dataCenter)) return;
    if (here.length === 0) {
      report(
        ["workers", "dataCenters"],
        JSON.stringify(c.workers.dataCenters),
        `a list with ${dataCenter}, or an owner granted a datastore of this stack: a cluster with its scheduler in ${c.scheduler.dataCenter} is in this stack to place workers here or to give this stack's datastores its job lines`,
        `add ${dataCenter} to workers.dataCenters, grant ${c.owner} a datastore of this stack, or remove the entry`,
      );
      return;
    }
    const remote = c.workers.remoteComputeServers ?? {};
    for (const dc of c.workers.dataCenters)
      if (remote[dc] === undefined)
        report(
          ["workers", "remoteComputeServers"],
          Object.keys(remote).length > 0 ? JSON.stringify(Object.keys(remote)) : "nothing",
          `the compute servers' addresses of every data center of workers.dataCenters, ${dc} included: the entry runs nothing here and is listed for the job lines of ${here.join(", ")}, which name each worker node`,
          `add ${dc}: [<its compute servers' data addresses, in server-id order>] under workers.remoteComputeServers`,
        );
  });
  return issues;
}
