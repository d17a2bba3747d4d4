import { strict as assert } from "node:assert";
import type { Violation } from "../../../policies/policies";
import { formatJson, formatSarif, formatText, hasMandatory, toSarif } from "../../../policies/report";

const v: Violation = {
  policy: "zero-root",
  rule: "zero-root",
  enforcementLevel: "mandatory",
  severity: "critical",
  message: 'instances[0].programs[0] ("mariadbd") runs as uid 0; allowed: an unprivileged uid',
  remediation: "Run the program as its own unprivileged user.",
  urn: "urn:pulumi:dc1::zeroroot::zeroroot:desired-state:DesiredState::dc1-s01-state",
  resourceName: "dc1-s01-state",
  resourceType: "zeroroot:desired-state:DesiredState",
  path: "instances[0].programs[0].uid",
};
const reports = [
  { stack: "dc1", violations: [v], resourceCount: 12 },
  {
    stack: "dc2",
    violations: [{ ...v, enforcementLevel: "advisory" as const, urn: undefined, resourceName: undefined }],
  },
];

describe("violation reports", () => {
  it("SARIF output has the required 2.1.0 structure", () => {
    const s = JSON.parse(formatSarif(reports)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(s.version, "2.1.0");
    assert.match(s.$schema, /sarif-2\.1\.0/);
    assert.equal(s.runs.length, 1);
    const run = s.runs[0];
    assert.equal(typeof run.tool.driver.name, "string");
    const ids = run.tool.driver.rules.map((r: { id: string }) => r.id);
    for (const r of run.tool.driver.rules) {
      assert.equal(typeof r.id, "string");
      assert.equal(typeof r.shortDescription.text, "string");
      assert.ok(["error", "warning", "note", "none"].includes(r.defaultConfiguration.level));
      assert.match(r.properties["security-severity"], /^\d+\.\d$/);
    }
    assert.equal(run.results.length, 2);
    for (const res of run.results) {
      assert.ok(ids.includes(res.ruleId));
      assert.equal(run.tool.driver.rules[res.ruleIndex].id, res.ruleId);
      assert.ok(["error", "warning"].includes(res.level));
      assert.equal(typeof res.message.text, "string");
      assert.ok(res.locations[0].physicalLocation.artifactLocation.uri);
      assert.ok(res.locations[0].physicalLocation.region.startLine >= 1);
      assert.match(Object.values(res.partialFingerprints)[0] as string, /^[0-9a-f]{64}$/);
    }
    assert.equal(run.results[0].level, "error");
    assert.equal(run.results[1].level, "warning");
    assert.equal(run.results[0].locations[0].physicalLocation.artifactLocation.uri, "stacks/Pulumi.dc1.yaml");
    assert.equal(run.results[0].locations[0].logicalLocations[0].fullyQualifiedName, v.urn);
  });

  it("an empty report is valid SARIF with no results", () => {
    const s = toSarif([{ stack: "dc1", violations: [] }]) as { runs: { results: unknown[] }[] };
    assert.deepEqual(s.runs[0].results, []);
  });

  it("text output has a summary per stack naming the rule, the resource and the remediation", () => {
    const t = formatText(reports);
    assert.match(t, /^dc1: 12 resources, 1 mandatory and 0 advisory violation\(s\)/m);
    assert.match(t, /^dc2: 0 mandatory and 1 advisory/m);
    assert.match(t, /MANDATORY \[zero-root\] dc1-s01-state instances\[0\]\.programs\[0\]\.uid/);
    assert.match(t, /fix: Run the program/);
    assert.match(t, /^FAILED/m);
    assert.match(
      formatText([{ stack: "dc1", violations: [] }]),
      /dc1: 0 mandatory and 0 advisory violation\(s\) — pass\nOK/,
    );
  });

  it("JSON output says whether the check passed", () => {
    assert.equal(JSON.parse(formatJson(reports)).ok, false);
    assert.equal(
      hasMandatory([{ stack: "dc1", violations: [{ ...v, enforcementLevel: "advisory" }] }]),
      false,
    );
  });
});
