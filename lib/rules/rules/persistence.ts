import { UNKNOWN, finding, show, type Finding, type Rule } from "../types";
import type { DesiredStateView } from "../views";

export interface PersistenceConfig {
  /** Least minimum persistence time of a data-holding instance, in seconds. @default - 604800 (7 days) */
  readonly minimumPersistenceSeconds: number;
  /** Require `protect` (or `retainOnDelete`) on a DesiredState holding data. @default - true */
  readonly requireProtection: boolean;
}

const meta = {
  name: "persistence",
  description:
    "Checks that every data-holding instance carries a minimum persistence time of at least the configured floor, and that the DesiredState resource holding it is protected (protect: true, or retainOnDelete where the evaluator can see it) so one `pulumi destroy` cannot wipe data.",
  severity: "high",
  remediation:
    "Set minimumPersistenceSeconds on the instance to at least the floor, and register the DesiredState with { protect: true, retainOnDelete: true } (the Pulumi policy protocol only shows `protect`).",
  invariant: "6. Minimum persistence time",
  defaults: { minimumPersistenceSeconds: 604800, requireProtection: true },
  configSchema: {
    minimumPersistenceSeconds: { type: "integer", minimum: 0 },
    requireProtection: { type: "boolean" },
  },
} as const;

export const persistence: Rule<DesiredStateView, PersistenceConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(v, c) {
    const out: Finding[] = [];
    if (v.instances === UNKNOWN) return out;
    let holdsData = false;
    for (const inst of v.instances) {
      if (inst === UNKNOWN || inst.holdsData !== true) continue;
      holdsData = true;
      const s = inst.minimumPersistenceSeconds;
      if (s === undefined || (typeof s === "number" && s < c.minimumPersistenceSeconds))
        out.push(
          finding(
            meta,
            `${inst.path} (${show(inst.name)}) holds data with minimumPersistenceSeconds ${show(s)}; required: >= ${c.minimumPersistenceSeconds}`,
            v.ref,
            `${inst.path}.minimumPersistenceSeconds`,
          ),
        );
    }
    if (holdsData && c.requireProtection && v.protect === false && v.retainOnDelete !== true)
      out.push(
        finding(
          meta,
          `DesiredState ${show(v.computerId)} holds data but is neither protect: true nor retainOnDelete: true`,
          v.ref,
          "opts.protect",
        ),
      );
    return out;
  },
};
