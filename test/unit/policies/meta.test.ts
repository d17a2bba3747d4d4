import { strict as assert } from "node:assert";
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { RULES, runRule, type Rule } from "../../../lib/rules";
import { policies } from "../../../policies/policies";
import { bmcServer } from "../rules/fixtures";
import { captured } from "./stack-fixture";

describe("the rule book and the pack", () => {
  for (const rule of RULES) {
    it(`rule ${rule.name} has complete metadata and is in the pack`, () => {
      assert.match(rule.name, /^[a-z]+(-[a-z]+)*$/);
      assert.match(rule.description, /^Checks that /);
      assert.ok(["low", "medium", "high", "critical"].includes(rule.severity));
      assert.ok(rule.remediation.length > 20);
      assert.ok(rule.invariant);
      assert.equal(typeof rule.defaults, "object");
      assert.equal(typeof rule.configSchema, "object");
      const p = policies.find((x) => x.rule === rule.name);
      assert.ok(p, `no policy runs rule ${rule.name}`);
      assert.equal(p.enforcementLevel, "mandatory");
    });
  }

  it("every policy has a unique name, a description, and a config schema the pack server accepts", () => {
    const names = policies.map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    for (const p of policies) {
      assert.match(p.description, /^Checks that /);
      assert.ok(
        !p.configSchema?.properties.enforcementLevel,
        "enforcementLevel is reserved by @pulumi/policy",
      );
      assert.notEqual(p.name, "all");
    }
  });

  it("reports a rule that throws as an error finding instead of crashing", () => {
    const broken: Rule<unknown, object> = {
      ...RULES[0],
      check: () => {
        throw new Error("boom");
      },
    };
    const f = runRule(broken, {});
    assert.equal(f.length, 1);
    assert.equal(f[0].error, true);
    assert.match(f[0].message, /failed: boom/);
  });

  it("validation args built by hand (isType, notApplicable sentinel, reportViolation) get messages with the remediation", () => {
    const r = captured("BmcServer", "b", { ...bmcServer, bmc: { ...bmcServer.bmc, cipherSuite: 0 } });
    const reported: { message: string; urn?: string }[] = [];
    const sentinel = new Error("not applicable");
    const args = {
      ...r,
      opts: {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
      },
      stackTags: new Map(),
      isType: () => false,
      asType: () => undefined,
      getConfig: () => ({}),
      notApplicable: () => {
        throw sentinel;
      },
    } as unknown as ResourceValidationArgs;
    const bmc = policies.find((p) => p.name === "bmc") as ResourceValidationPolicy;
    const validate = bmc.validateResource as (
      a: ResourceValidationArgs,
      rv: (m: string, u?: string) => void,
    ) => void;
    validate(args, (message, urn) => reported.push({ message, urn }));
    assert.equal(reported.length, 1);
    assert.match(reported[0].message, /cipherSuite is 0.*Remediation: /s);
    assert.equal(reported[0].urn, r.urn);
  });
});
