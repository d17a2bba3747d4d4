import { strict as assert } from "node:assert";
import { loadCorpus } from "./corpus";
import { judge } from "./csr-oracle";
import { describeDisagreement, runFuzz, summary } from "./csr-fuzz";
import { fuzzCount, fuzzSeed } from "./settings";

/** Corpus CSRs the fast path must leave to the schema parser: name kinds or string types it does not read. */
const DECLINED = [
  "openssl multi-valued RDN, URI SAN",
  "IA5String CN",
  "BMPString CN",
  "email SAN",
  "PrintableString CN, Teletex O",
  "UniversalString OU",
];

describe("CSR fast path against the schema parser (differential fuzz)", () => {
  const corpus = loadCorpus();

  it("starts from valid CSRs, which the fast path reads exactly as the schema parser does", () => {
    for (const entry of corpus) {
      const verdict = judge(entry.der);
      const expected = DECLINED.includes(entry.name) ? "deferred" : "both-accept";
      assert.equal(verdict.kind, expected, entry.name);
      assert.ok(verdict.schema.accepted, `${entry.name}: the schema parser refuses a corpus CSR`);
    }
  });

  const seed = fuzzSeed();
  const count = fuzzCount();
  it(`accepts only what the schema parser accepts, with equal facts, on ${count} mutated CSRs (seed ${seed})`, () => {
    const stats = runFuzz(seed, count, corpus);
    console.log(summary(stats));
    const shown = stats.disagreements.slice(0, 5).map((d) => describeDisagreement(seed, d));
    assert.equal(stats.disagreements.length, 0, `\n${shown.join("\n")}`);
    // Every refusal is a PkiError: anything else reaches a caller as an internal error (an HTTP 500).
    assert.deepEqual([...stats.crashes.entries()], [], "errors other than PkiError escaped a reader");
    // A run that never gets both readers to a decision proves nothing: the mutator must reach them.
    if (count >= 1000) {
      assert.ok(stats.bothAccepted >= count * 0.03, `only ${stats.bothAccepted} CSRs accepted by both`);
      assert.ok(stats.bothRefused >= count * 0.02, `only ${stats.bothRefused} CSRs refused by both`);
      assert.ok(
        stats.deferredAccepted >= count * 0.02,
        `only ${stats.deferredAccepted} unusual CSRs declined`,
      );
    }
  });
});
