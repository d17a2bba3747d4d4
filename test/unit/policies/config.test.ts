/** The pack config file, read as the Pulumi CLI reads `--policy-pack-config` (policies/config.ts). */
import { strict as assert } from "node:assert";
import { PackConfigError, packConfigOf } from "../../../policies/config";
import { makePolicies } from "../../../policies/policies";

const policies = makePolicies();
const read = (raw: unknown) => packConfigOf(raw, "policy-config.json", policies);

describe("the policy pack config file", () => {
  it("takes an enforcement level alone or an object of settings per policy", () => {
    assert.deepEqual(read({ spread: "advisory", persistence: { minimumPersistenceSeconds: 86400 } }), {
      spread: { enforcementLevel: "advisory" },
      persistence: { minimumPersistenceSeconds: 86400 },
    });
  });

  it("`all` sets every policy's level; a policy's own level wins", () => {
    const c = read({ all: "advisory", bmc: "disabled" });
    assert.equal(Object.keys(c).length, policies.length);
    assert.equal(c["zero-root"].enforcementLevel, "advisory");
    assert.equal(c.bmc.enforcementLevel, "disabled");
  });

  const refused: { name: string; raw: unknown; says: RegExp }[] = [
    {
      name: "not an object",
      raw: ["spread"],
      says: /\(top level\): received \["spread"\]; allowed: an object keyed by policy name/,
    },
    {
      name: "an unknown policy (a typo)",
      raw: { "signed-sofware": {} },
      says: /signed-sofware: no policy of this pack has that name; allowed: all, zero-root/,
    },
    {
      name: "an unknown level",
      raw: { spread: "warn" },
      says: /spread: received "warn"; allowed: advisory, mandatory, remediate, disabled/,
    },
    { name: "an unknown level for all", raw: { all: 1 }, says: /all: received 1; allowed: advisory/ },
    {
      name: "a bad enforcementLevel in an object",
      raw: { bmc: { enforcementLevel: "strict" } },
      says: /bmc\.enforcementLevel: received "strict"/,
    },
    {
      name: "a setting the policy does not have",
      raw: { persistence: { minimumPersistenceDays: 7 } },
      says: /persistence\.minimumPersistenceDays: not a setting of persistence; allowed: enforcementLevel, minimumPersistenceSeconds/,
    },
    {
      name: "a setting of the wrong type",
      raw: { "signed-software": { authorisedSigners: "24be59" } },
      says: /signed-software\.authorisedSigners: received "24be59"; allowed: a value of type array/,
    },
    {
      name: "a policy given a number",
      raw: { spread: 3 },
      says: /spread: received 3; allowed: an enforcement level or an object of settings/,
    },
  ];
  for (const c of refused)
    it(`refuses ${c.name}, saying where, what was received and what is allowed`, () => {
      assert.throws(
        () => read(c.raw),
        (e: unknown) =>
          e instanceof PackConfigError &&
          c.says.test(e.message) &&
          e.message.startsWith("policy-config.json: "),
      );
    });

  it("lists every problem at once", () => {
    assert.throws(
      () => read({ nope: {}, spread: "warn" }),
      (e: unknown) => e instanceof PackConfigError && e.problems.length === 2,
    );
  });
});
