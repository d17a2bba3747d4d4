import { strict as assert } from "node:assert";
import { buildEgressRuleset, type EgressEndpoint, type EgressRuleset } from "../../../lib/compute/egress";
import {
  COMPUTE_RULES,
  perUserEgress,
  perUserEgressViewOfDesiredState,
  RULES,
  runRule,
  UNKNOWN,
  type PerUserEgressView,
} from "../../../lib/rules";
import { RESOURCE_BINDINGS } from "../../../policies/bindings";
import { sarifRuleId } from "../../../lib/sarif/rule-ids";

const ALICE = "dc1/user/alice";
const BOB = "dc2/user/bob";
const pg = { address: "10.78.1.11", port: 5432 };
const sched = { address: "10.78.1.14", port: 8786 };
const maria = { address: "10.78.2.11", port: 3306 };
const grants = new Map<string, EgressEndpoint[]>([
  [ALICE, [pg, sched]],
  [BOB, [pg]],
]);
const partitions = [
  { uid: 2100, owner: ALICE },
  { uid: 2101, owner: BOB },
];
const rendered = buildEgressRuleset(partitions, grants);

const view = (over: Partial<PerUserEgressView>): PerUserEgressView => ({
  source: "PerUserEgress",
  ref: "dc1-c01",
  partitions,
  grants,
  ruleset: rendered,
  ...over,
});
const withUid = (uid: number, change: (u: EgressRuleset["uids"][number]) => object): EgressRuleset => ({
  uids: rendered.uids.map((u) => (u.uid === uid ? { ...u, ...change(u) } : u)),
});

describe("rule per-user-egress", () => {
  const compliant: [string, PerUserEgressView][] = [
    ["the ruleset rendered from the grants", view({})],
    ["a server without user partitions and without a ruleset", view({ partitions: [], ruleset: undefined })],
    ["a ruleset not known yet (preview)", view({ ruleset: UNKNOWN })],
    ["a ruleset narrower than the grants", view({ ruleset: withUid(2100, () => ({ allow: [pg] })) })],
    [
      "an IPv6 grant written differently from the ruleset's address",
      view({
        grants: new Map([...grants, [ALICE, [pg, sched, { address: "FD00:0::A", port: 1 }]]]),
        ruleset: withUid(2100, (u) => ({ allow: [...u.allow, { address: "fd00::a", port: 1 }] })),
      }),
    ],
  ];
  for (const [what, v] of compliant)
    it(`accepts ${what}`, () => assert.deepEqual(runRule(perUserEgress, v), []));

  const violations: [string, PerUserEgressView, string, RegExp][] = [
    [
      "user partitions and no ruleset",
      view({ ruleset: undefined }),
      "egress",
      /uids 2100, 2101.*no egress ruleset/,
    ],
    [
      "a user uid missing from the ruleset",
      view({ ruleset: { uids: rendered.uids.filter((u) => u.uid !== 2101) } }),
      "egress.uids.2101",
      /uid 2101 \(owner "dc2\/user\/bob"\) has no egress rules/,
    ],
    [
      "an endpoint no grant names (another datastore)",
      view({ ruleset: withUid(2100, (u) => ({ allow: [...u.allow, maria] })) }),
      "egress.uids.2100.allow",
      /uid 2100 .* "10\.78\.2\.11" port 3306, which none of the owner's grants names/,
    ],
    [
      "bob allowed alice's scheduler (another user's cluster)",
      view({ ruleset: withUid(2101, (u) => ({ allow: [...u.allow, sched] })) }),
      "egress.uids.2101.allow",
      /uid 2101 .*"10\.78\.1\.14" port 8786/,
    ],
    [
      "a uid restricted as another owner",
      view({ ruleset: withUid(2101, () => ({ owner: ALICE, allow: [pg, sched] })) }),
      "egress.uids.2101.owner",
      /restricted as "dc1\/user\/alice" but runs processes of "dc2\/user\/bob"/,
    ],
    [
      "an IPv6 endpoint no grant names",
      view({ ruleset: withUid(2100, (u) => ({ allow: [...u.allow, { address: "fd00::5", port: 5432 }] })) }),
      "egress.uids.2100.allow",
      /"fd00::5" port 5432/,
    ],
    [
      "an allowed address that is not an address, even when a grant holds the same junk",
      view({
        grants: new Map([...grants, [ALICE, [pg, sched, { address: "any", port: 1 }]]]),
        ruleset: withUid(2100, (u) => ({ allow: [...u.allow, { address: "any", port: 1 }] })),
      }),
      "egress.uids.2100.allow",
      /"any" port 1/,
    ],
  ];
  for (const [what, v, path, message] of violations)
    it(`reports ${what}`, () => {
      const found = runRule(perUserEgress, v);
      assert.ok(
        found.some(
          (f) => f.path === path && message.test(f.message) && f.ref === "dc1-c01" && f.severity === "high",
        ),
        JSON.stringify(found, null, 2),
      );
    });

  it("has complete metadata, an opaque SARIF id, and is in the rule book the pack runs over each DesiredState", () => {
    assert.match(perUserEgress.description, /^Checks that /);
    assert.equal(sarifRuleId("per-user-egress"), "ZR1016");
    assert.ok((COMPUTE_RULES as readonly unknown[]).includes(perUserEgress));
    assert.ok((RULES as readonly unknown[]).includes(perUserEgress));
    const bound = RESOURCE_BINDINGS.find((b) => b.rule === perUserEgress);
    assert.deepEqual(bound?.kinds, ["DesiredState"]);
  });
});

describe("rule per-user-egress over a DesiredState (the policy pack's view, lib/rules/egress-views.ts)", () => {
  const inst = (uid: number, parameters: Record<string, unknown>) => ({
    name: `i${uid}`,
    partition: { user: `zr-p${uid - 2100}`, uid },
    parameters,
  });
  const owned = (uid: number, egress?: unknown) =>
    inst(uid, { "zeroroot.owner": ALICE, ...(egress === undefined ? {} : { "zeroroot.egress": egress }) });
  const judge = (instances: unknown) =>
    runRule(perUserEgress, perUserEgressViewOfDesiredState({ ref: "urn:ds", props: { instances } }), {});

  const compliant: [string, unknown][] = [
    [
      "owned instances that carry their egress",
      [owned(2100, "10.78.1.14:8786"), owned(2101, "10.78.1.14:8786 10.78.2.14:8800")],
    ],
    ["an owned instance that may reach nothing (an empty list is a restriction)", [owned(2100, "")]],
    ["platform instances only (no owner)", [inst(2100, { mode: "primary" })]],
    ["an egress not known yet (preview)", [owned(2100, UNKNOWN)]],
    ["instances not known yet", UNKNOWN],
  ];
  for (const [what, instances] of compliant)
    it(`passes ${what}`, () => assert.deepEqual(judge(instances), []));

  const violations: [string, unknown, string, RegExp][] = [
    [
      "the document's only owned instance without zeroroot.egress",
      [owned(2100)],
      "egress",
      /no egress ruleset: they can reach any address/,
    ],
    [
      "one owned instance without zeroroot.egress next to one with it",
      [owned(2100, "10.78.1.14:8786"), owned(2101)],
      "egress.uids.2101",
      /uid 2101 \(owner "dc1\/user\/alice"\) has no egress rules/,
    ],
    [
      "a malformed zeroroot.egress (the node could not load it)",
      [owned(2100, "10.78.1.14:8786"), owned(2101, "anywhere:*")],
      "egress.uids.2101",
      /has no egress rules/,
    ],
  ];
  for (const [what, instances, path, message] of violations)
    it(`flags ${what}`, () => {
      const found = judge(instances);
      assert.ok(
        found.some((f) => f.path === path && message.test(f.message) && f.ref === "urn:ds"),
        JSON.stringify(found, null, 2),
      );
    });
});
