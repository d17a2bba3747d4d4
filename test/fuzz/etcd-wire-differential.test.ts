import { strict as assert } from "node:assert";
import { describeWireDisagreement, runWireFuzz, wireSummary } from "./etcd-wire-fuzz";
import { fuzzCount, fuzzSeed } from "./settings";

describe("the agent's etcd decoder against protobufjs reading etcd's rpc.proto (differential fuzz)", () => {
  const seed = fuzzSeed();
  const count = fuzzCount();
  it(`accepts only what protobufjs accepts, with equal facts, on ${count} random and mutated responses (seed ${seed})`, () => {
    const stats = runWireFuzz(seed, count);
    console.log(wireSummary(stats));
    const shown = stats.disagreements.slice(0, 5).map((d) => describeWireDisagreement(seed, d));
    assert.equal(stats.disagreements.length, 0, `\n${shown.join("\n")}`);
    // every refusal is a WireError, which the client reports as a "protocol" ControlPlaneError
    assert.deepEqual([...stats.crashes.entries()], [], "errors other than WireError escaped the decoder");
    // a run where the two never both accept proves nothing: the mutations must leave many readable
    if (count >= 1000)
      assert.ok(stats.bothAccepted >= count * 0.2, `only ${stats.bothAccepted} accepted by both`);
  });
});
