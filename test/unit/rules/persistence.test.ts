import { strict as assert } from "node:assert";
import { UNKNOWN, desiredStateViewOf, persistence, runRule } from "../../../lib/rules";
import { clone, desiredState, record } from "./fixtures";

const run = (p: unknown, protect: boolean | typeof UNKNOWN = true, retainOnDelete?: boolean) =>
  runRule(persistence, desiredStateViewOf({ ...record("DesiredState", "ds", p), protect, retainOnDelete }));

describe("rule persistence", () => {
  it("passes a protected data-holding instance with 30 days of persistence", () =>
    assert.deepEqual(run(desiredState), []));
  it("passes when only retainOnDelete is set (where visible)", () =>
    assert.deepEqual(run(desiredState, false, true), []));
  it("fails when the persistence time is below the floor", () => {
    const p = clone(desiredState);
    p.instances[0].minimumPersistenceSeconds = 3600;
    assert.deepEqual(
      run(p).map((f) => f.path),
      ["instances[0].minimumPersistenceSeconds"],
    );
  });
  it("fails when the persistence time is missing", () => {
    const p = clone(desiredState);
    delete p.instances[0].minimumPersistenceSeconds;
    assert.deepEqual(
      run(p).map((f) => f.path),
      ["instances[0].minimumPersistenceSeconds"],
    );
  });
  it("fails when the desired state holding data is not protected", () => {
    assert.deepEqual(
      run(desiredState, false).map((f) => f.path),
      ["opts.protect"],
    );
  });
  it("passes an unprotected desired state that holds no data", () => {
    const p = clone(desiredState);
    p.instances[0].holdsData = false;
    p.instances[0].minimumPersistenceSeconds = 0;
    assert.deepEqual(run(p, false), []);
  });
  it("honours a configured floor", () => {
    const f = runRule(persistence, desiredStateViewOf(record("DesiredState", "ds", desiredState)), {
      minimumPersistenceSeconds: 90 * 86400,
    });
    assert.equal(f.length, 1);
  });
  it("reports nothing for values unknown at preview", () => {
    const p = clone(desiredState);
    p.instances[0].minimumPersistenceSeconds = UNKNOWN;
    assert.deepEqual(run(p, UNKNOWN), []);
    assert.deepEqual(run({ ...desiredState, instances: UNKNOWN }, false), []);
  });
});
