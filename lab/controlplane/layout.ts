/** Where the members go in the lab network of lab/net: each DC's management namespace, on its data address. */
import { netNames, type LabNetPlan } from "../net";
import type { MemberLayout } from "./cluster";

/**
 * One member per data center, in `<prefix><dc>-mgmt`, listening on the management server's data
 * address (agents reach it over the data network; the management network carries BMC traffic only),
 * named `etcd.<dc>.<zone>` so that the DC's issuing CA (scoped to `<dc>.<zone>`) may certify it.
 */
export function layoutFromNetPlan(plan: LabNetPlan, zone: string): MemberLayout[] {
  const names = netNames(plan);
  return plan.dataCenters.map((dc, k) => ({
    dc: dc.id,
    namespace: names.dcs[k].mgmtNs,
    address: dc.managementServer.dataAddress,
    dnsName: `etcd.${dc.id}.${zone}`,
  }));
}
