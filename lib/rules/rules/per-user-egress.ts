/**
 * per-user-egress (issue #12): a server that runs processes of users must restrict each user
 * partition's outbound connections to what its owner is granted. Judges the model of
 * lib/compute/egress.ts (what `renderEgressNft` loads), so desired state at preview and a ruleset
 * read back from a host are judged by one rule.
 */
import {
  canonicalAddress,
  type EgressEndpoint,
  type EgressRuleset,
  type UserPartition,
} from "../../compute/egress";
import { finding, isUnknown, show, type Finding, type Maybe, type Rule } from "../types";

export interface PerUserEgressView {
  readonly source: "PerUserEgress";
  /** The server (desired-state document's computerId, or host id). */
  readonly ref: string;
  /** Partitions whose processes belong to a user, with the owner's identity `dc1/user/alice`. */
  readonly partitions: readonly UserPartition[];
  /** Owner identity → the endpoints its grants and its own clusters resolve to (lib/compute/grants.ts). */
  readonly grants: ReadonlyMap<string, readonly EgressEndpoint[]>;
  /** The server's egress ruleset; undefined when it has none, UNKNOWN while not computed yet. */
  readonly ruleset: Maybe<EgressRuleset> | undefined;
}

/** No options: which endpoints are allowed is the grants' decision, not the rule's. */
export type PerUserEgressConfig = Record<string, never>;

const meta = {
  name: "per-user-egress",
  description:
    "Checks that every partition of a server that runs a user's processes is restricted by the server's egress ruleset to the endpoints its owner is granted (datastores of its grants, its own clusters), with everything else dropped and counted.",
  severity: "high",
  remediation:
    "Render the server's egress ruleset from the grants (lib/compute/egress.ts) and load it with the desired state; grant the endpoint in zeroroot:dataAccess or zeroroot:clusters instead of widening the ruleset.",
  invariant: "4. Mutual TLS everywhere (per-user network isolation of issue #12)",
  defaults: {} as PerUserEgressConfig,
  configSchema: {},
} as const;

/** An endpoint for a message; the address quoted and escaped (a host may report anything). */
const text = (e: EgressEndpoint) => `${show(e.address)} port ${show(e.port)}`;

export const perUserEgress: Rule<PerUserEgressView, PerUserEgressConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(view) {
    const out: Finding[] = [];
    if (view.partitions.length === 0 || isUnknown(view.ruleset)) return out;
    const f = (msg: string, path: string) => out.push(finding(meta, msg, view.ref, path));
    if (view.ruleset === undefined) {
      f(
        `${view.partitions.length} partition(s) run users' processes (uids ${view.partitions.map((p) => p.uid).join(", ")}) but the server has no egress ruleset: they can reach any address`,
        "egress",
      );
      return out;
    }
    const rules = new Map(view.ruleset.uids.map((u) => [u.uid, u]));
    for (const p of view.partitions) {
      const r = rules.get(p.uid);
      if (!r) {
        f(
          `uid ${p.uid} (owner ${show(p.owner)}) has no egress rules: it can reach any address`,
          `egress.uids.${p.uid}`,
        );
        continue;
      }
      if (r.owner !== p.owner)
        f(
          `uid ${p.uid} is restricted as ${show(r.owner)} but runs processes of ${show(p.owner)}`,
          `egress.uids.${p.uid}.owner`,
        );
      // Compared by canonical address text, so fd00:0::A and fd00::a are one address.
      // An address that is not one never matches (a ruleset read from a host may hold anything).
      const canon = (e: EgressEndpoint) => {
        const a = canonicalAddress(e.address);
        return a === undefined ? undefined : `${a} ${e.port}`;
      };
      const granted = new Set((view.grants.get(p.owner) ?? []).map(canon).filter((k) => k !== undefined));
      const extra = r.allow.filter((e) => {
        const k = canon(e);
        return k === undefined || !granted.has(k);
      });
      for (const e of extra)
        f(
          `uid ${p.uid} (owner ${show(p.owner)}) may connect to ${text(e)}, which none of the owner's grants names`,
          `egress.uids.${p.uid}.allow`,
        );
    }
    return out;
  },
};
