import { UNKNOWN, finding, type Finding, type Rule } from "../types";
import type { FleetView, InstanceView } from "../views";

export interface SpreadConfig {
  /** Data centers a storage group must span. @default - 2 (quorum survives losing one of three) */
  readonly minDataCenters: number;
}

const meta = {
  name: "spread",
  description:
    "Checks that the replicas of each storage service (data-holding instances of the same release) span at least two data centers, judged over every data center in scope.",
  severity: "high",
  remediation:
    "Place replicas of the storage service on servers of at least two data centers (three for Galera/etcd quorum), and run the check over all stacks (`zeroroot policy check --all`).",
  invariant: "7. Availability",
  defaults: { minDataCenters: 2 },
  configSchema: { minDataCenters: { type: "integer", minimum: 1 } },
} as const;

/**
 * A single data center's stack cannot show spread: when every desired state in scope belongs to one
 * data center, the rule judges nothing (the cross-stack run judges it).
 */
export const spread: Rule<FleetView, SpreadConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(fleet, c) {
    const out: Finding[] = [];
    const dcsInScope = new Set<string>();
    const groups = new Map<string, InstanceView[]>();
    for (const ds of fleet.desiredStates) {
      if (typeof ds.dataCenter === "string") dcsInScope.add(ds.dataCenter);
      if (ds.instances === UNKNOWN) return out; // membership unknown: cannot judge any group
      for (const inst of ds.instances) {
        if (inst === UNKNOWN) return out;
        if (inst.holdsData !== true) continue;
        const rel = inst.release;
        if (rel === UNKNOWN || rel === undefined || typeof rel.name !== "string") continue;
        groups.set(rel.name, [...(groups.get(rel.name) ?? []), inst]);
      }
    }
    if (dcsInScope.size < c.minDataCenters) return out;
    for (const [name, insts] of groups) {
      if (insts.some((i) => typeof i.dataCenter !== "string")) continue;
      const dcs = new Set(insts.map((i) => i.dataCenter as string));
      if (dcs.size < c.minDataCenters)
        out.push(
          finding(
            meta,
            `storage ${JSON.stringify(name)} has ${insts.length} replica(s) in ${dcs.size} data center(s) (${[...dcs].join(", ")}); required: at least ${c.minDataCenters}`,
            insts[0].ref,
            insts[0].path,
          ),
        );
    }
    return out;
  },
};
