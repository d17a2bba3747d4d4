import { strict as assert } from "node:assert";
import { loadCorpus } from "../../fuzz/corpus";
import { describeDisagreement, runFuzz } from "../../fuzz/csr-fuzz";

/** Another seed than the fuzz tier's default, so that these cases add to its 100,000 (docs/testing.md). */
const SMOKE_SEED = 1;

describe("CSR fast path against the schema parser (smoke of the differential fuzz)", () => {
  it("agrees with the schema parser on 300 mutated CSRs (npm run test:fuzz runs 100,000)", () => {
    const stats = runFuzz(SMOKE_SEED, 300, loadCorpus());
    const shown = stats.disagreements.slice(0, 3).map((d) => describeDisagreement(SMOKE_SEED, d));
    assert.equal(stats.disagreements.length, 0, `\n${shown.join("\n")}`);
    assert.ok(stats.bothAccepted >= 30, `only ${stats.bothAccepted} CSRs accepted by both readers`);
  });
});
