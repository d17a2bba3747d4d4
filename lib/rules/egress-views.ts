/**
 * The per-user-egress view of one DesiredState (the policy pack): the partitions whose instances a
 * user owns (`zeroroot.owner`), and the restriction the document asks the node to load for each
 * (`zeroroot.egress`, lib/compute/egress-desired.ts). An owned instance without a well-formed
 * `zeroroot.egress` is left out of the ruleset, so the rule reports its uid as unrestricted.
 *
 * At preview a document is all the pack sees: the grants are taken as the union of what the
 * owner's instances declare (the stack program derived those from `zeroroot:dataAccess` and
 * `zeroroot:clusters`, grants.ts). A live host's ruleset is judged against the resolved grants instead.
 */
import {
  checkOwner,
  checkUid,
  type EgressEndpoint,
  type EgressRuleset,
  type UserPartition,
} from "../compute/egress";
import { EGRESS_PARAMETER, OWNER_PARAMETER, parseEgressParameter } from "../compute/egress-desired";
import type { PerUserEgressView } from "./rules/per-user-egress";
import { UNKNOWN, type Maybe } from "./types";
import { at, num, str } from "./view-access";
import type { ResourceRecord } from "./views";

export function perUserEgressViewOfDesiredState(r: Pick<ResourceRecord, "ref" | "props">): PerUserEgressView {
  const ref = r.ref;
  const instances = at(r.props, "instances");
  const empty: PerUserEgressView = {
    source: "PerUserEgress",
    ref,
    partitions: [],
    grants: new Map(),
    ruleset: undefined,
  };
  if (instances === UNKNOWN) return { ...empty, ruleset: UNKNOWN };
  if (!Array.isArray(instances)) return empty;
  const partitions: UserPartition[] = [];
  const uids: { uid: number; owner: string; allow: EgressEndpoint[] }[] = [];
  const grants = new Map<string, EgressEndpoint[]>();
  let unknown = false;
  for (const inst of instances) {
    const params = at(inst, "parameters");
    const owner: Maybe<string> | undefined = str(at(params, OWNER_PARAMETER));
    const uid: Maybe<number> | undefined = num(at(at(inst, "partition"), "uid"));
    if (owner === undefined) continue;
    if (owner === UNKNOWN || uid === UNKNOWN) {
      unknown = true;
      continue;
    }
    let partition: UserPartition;
    try {
      partition = { uid: checkUid(uid, "uid"), owner: checkOwner(owner, "owner") };
    } catch {
      continue; // not a user partition: zero-root and the other rules judge the instance
    }
    partitions.push(partition);
    const egress = at(params, EGRESS_PARAMETER);
    if (egress === UNKNOWN) {
      unknown = true;
      continue;
    }
    let allow: EgressEndpoint[];
    try {
      allow = parseEgressParameter(egress, "egress");
    } catch {
      continue; // absent or malformed: no restriction the node could load
    }
    uids.push({ ...partition, allow });
    grants.set(partition.owner, [...(grants.get(partition.owner) ?? []), ...allow]);
  }
  const ruleset: Maybe<EgressRuleset> | undefined = unknown
    ? UNKNOWN
    : uids.length === 0
      ? undefined
      : { uids: uids.sort((a, b) => a.uid - b.uid) };
  return { source: "PerUserEgress", ref, partitions, grants, ruleset };
}
