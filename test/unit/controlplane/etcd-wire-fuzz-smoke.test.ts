import { strict as assert } from "node:assert";
import { describeWireDisagreement, runWireFuzz } from "../../fuzz/etcd-wire-fuzz";

/** Another seed than the fuzz tier's default, so that these cases add to its 100,000 (docs/testing.md). */
const SMOKE_SEED = 1;

describe("the agent's etcd decoder against protobufjs (smoke of the differential fuzz)", () => {
  it("agrees with protobufjs on 300 random and mutated etcd responses (npm run test:fuzz runs 100,000)", () => {
    const stats = runWireFuzz(SMOKE_SEED, 300);
    const shown = stats.disagreements.slice(0, 3).map((d) => describeWireDisagreement(SMOKE_SEED, d));
    assert.equal(stats.disagreements.length, 0, `\n${shown.join("\n")}`);
    assert.deepEqual([...stats.crashes.entries()], []);
    assert.ok(stats.bothAccepted >= 30, `only ${stats.bothAccepted} responses accepted by both readers`);
  });
});
