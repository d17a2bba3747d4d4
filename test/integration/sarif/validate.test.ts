/**
 * Both SARIF outputs (`policy check` and `drift`) pass Microsoft's own validator with no error and
 * no warning, as Microsoft's validator (test/helpers/sarif-validate.ts) judges them.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluateStacks, select } from "../../../cli/commands/policy";
import { desiredServersOf } from "../../../lib/drift/desired";
import { readStackFile } from "../../../lib/fleet";
import { copyExampleStacks, zeroroot } from "../../helpers/cli-process";
import { prepareSarifValidator, validateSarif } from "../../helpers/sarif-validate";
import { cleanObserved } from "../../unit/drift/fixtures";

const validate = validateSarif;

describe("SARIF passes Microsoft's validator (sarif-multitool validate)", function () {
  this.timeout(300_000);
  let dir: string;

  before(() => {
    prepareSarifValidator();
    dir = mkdtempSync(join(tmpdir(), "zr-sarif-"));
  });

  it("the validator itself reports a rule whose id equals its name (this test can fail)", () => {
    const bad = join(dir, "bad.sarif");
    writeFileSync(
      bad,
      JSON.stringify({
        $schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [
          { tool: { driver: { name: "t", rules: [{ id: "mutual-tls", name: "mutual-tls" }] } }, results: [] },
        ],
      }),
    );
    assert.ok(validate(bad).problems.some((l) => /SARIF1001/.test(l)));
  });

  it("policy check --format sarif: no error, no warning; results at the line of the key", () => {
    const stacks = copyExampleStacks("zr-sarif-policy-");
    const file = join(stacks, "Pulumi.dc1.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "requireClientCertificate: true }",
        "requireClientCertificate: false }",
      ),
    );
    const r = zeroroot(["policy", "check", "--file", file, "--format", "sarif"]);
    assert.equal(r.code, 1, r.err);
    const out = join(dir, "policy.sarif");
    writeFileSync(out, r.out);
    const log = JSON.parse(r.out) as {
      runs: { results: { locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[];
    };
    // mutual-tls and datastore-client-certificates, on the server of dc1's PostgreSQL primary
    assert.equal(log.runs[0].results.length, 2, JSON.stringify(log.runs[0].results.map((x) => x.locations)));
    assert.ok(log.runs[0].results.every((x) => x.locations[0].physicalLocation.region.startLine > 1));
    const v = validate(out);
    assert.deepEqual(v.problems, [], v.all);
    assert.equal(v.status, 0, v.all);
  });

  it("drift --format sarif: no error, no warning", async () => {
    const stacks = copyExampleStacks("zr-sarif-drift-");
    const sel = select({ stack: "dc1", dir: stacks });
    const { evaluated } = await evaluateStacks(sel.targets, sel.files);
    const desired = evaluated.flatMap((e) =>
      desiredServersOf(readStackFile(e.file), e.evaluation.resources, e.file),
    );
    const observed = desired.map((d) => cleanObserved(d, Date.now()));
    observed[0] = { ...observed[0], bmc: { power: "on", bootDevice: "pxe" } };
    observed[1] = { ...observed[1], report: { error: "permission denied" } };
    const obsFile = join(dir, "observed.json");
    writeFileSync(obsFile, JSON.stringify({ servers: observed }));
    const r = zeroroot([
      "drift",
      "--dir",
      stacks,
      "--stack",
      "dc1",
      "--observed",
      obsFile,
      "--no-history",
      "--format",
      "sarif",
    ]);
    assert.equal(r.code, 2, r.err);
    const out = join(dir, "drift.sarif");
    writeFileSync(out, r.out);
    const v = validate(out);
    assert.deepEqual(v.problems, [], v.all);
    assert.equal(v.status, 0, v.all);
  });
});
