import { strict as assert } from "node:assert";
import { UNKNOWN, fleetViewOf, runRule, spread } from "../../../lib/rules";
import { clone, desiredState, record } from "./fixtures";

const stateIn = (dc: string, computer: string, holdsData = true) => {
  const p = clone(desiredState);
  p.dataCenter = dc;
  p.computerId = computer;
  p.instances[0].holdsData = holdsData;
  return record("DesiredState", computer, p);
};
const run = (records: ReturnType<typeof record>[]) => runRule(spread, fleetViewOf(records));

describe("rule spread", () => {
  it("passes when replicas span three data centers", () =>
    assert.deepEqual(run([stateIn("dc1", "a"), stateIn("dc2", "b"), stateIn("dc3", "c")]), []));
  it("fails when every replica sits in one data center of several", () => {
    const f = run([stateIn("dc1", "a"), stateIn("dc1", "b"), stateIn("dc2", "c", false)]);
    assert.equal(f.length, 1);
    assert.match(f[0].message, /mariadb-galera.*1 data center/);
  });
  it("judges nothing in a single data center's stack", () =>
    assert.deepEqual(run([stateIn("dc1", "a"), stateIn("dc1", "b")]), []));
  it("reports nothing when membership is unknown at preview", () => {
    const r = stateIn("dc2", "x");
    assert.deepEqual(run([stateIn("dc1", "a"), { ...r, props: { ...r.props, instances: UNKNOWN } }]), []);
  });
});
