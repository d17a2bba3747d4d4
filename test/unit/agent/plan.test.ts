import { strict as assert } from "node:assert";
import { destroyVerdict, mergePersistence, planReconcile, type ReleaseCheck } from "../../../lib/agent";
import { DIGEST, instance, manifest, record } from "./fixtures";

const ok: ReleaseCheck = { ok: true, manifest: manifest(), digest: DIGEST };
const now = new Date("2030-01-01T01:00:00Z");

describe("agent: minimum persistence guard", () => {
  it("refuses to destroy a data-holding instance before createdAt + minimumPersistenceSeconds", () => {
    const v = destroyVerdict(record({ holdsData: true, minimumPersistenceSeconds: 7200 }), now);
    assert.equal(v.allowed, false);
    assert.equal(!v.allowed && v.until.toISOString(), "2030-01-01T02:00:00.000Z");
    assert.equal(!v.allowed && v.remainingSeconds, 3600);
  });
  it("allows it once the time has passed", () => {
    assert.equal(
      destroyVerdict(record({ holdsData: true, minimumPersistenceSeconds: 3600 }), now).allowed,
      true,
    );
  });
  it("allows destroying an instance that holds no data at any time", () => {
    assert.equal(destroyVerdict(record({ minimumPersistenceSeconds: 99_999 }), now).allowed, true);
  });
  it("never allows a destroy when the recorded creation time is unreadable", () => {
    assert.equal(destroyVerdict(record({ holdsData: true, createdAt: "garbage" }), now).allowed, false);
  });
  it("never lowers the persistence figures a document gave before", () => {
    assert.deepEqual(
      mergePersistence(
        { holdsData: true, minimumPersistenceSeconds: 600 },
        { holdsData: false, minimumPersistenceSeconds: 1 },
        false,
      ),
      { holdsData: true, minimumPersistenceSeconds: 600 },
    );
    assert.equal(
      mergePersistence({ holdsData: false, minimumPersistenceSeconds: 0 }, instance(), true).holdsData,
      true,
    );
  });
});

describe("agent: reconcile plan", () => {
  const base = { partitions: 4, now };

  it("creates a new instance in its pre-created partition", () => {
    const a = planReconcile({ ...base, desired: [instance()], releases: { "inst-0": ok }, records: {} });
    assert.deepEqual(
      a.map((x) => [x.kind, x.kind === "apply" && x.isNew]),
      [["apply", true]],
    );
  });

  it("destroys an instance the document no longer lists, and retains a data-holding one inside its window", () => {
    const records = {
      "inst-0": record(),
      "inst-1": record({ holdsData: true, minimumPersistenceSeconds: 86_400 }, 1),
    };
    const a = planReconcile({ ...base, desired: [], releases: {}, records });
    assert.deepEqual(
      a.map((x) => x.kind),
      ["destroy", "retain"],
    );
  });

  it("refuses a partition that is not one of the node's pre-created ones", () => {
    const bad = [
      instance({ partition: { user: "zr-p009", uid: 2109 } }),
      instance({ name: "b", partition: { user: "zr-p001", uid: 2000 } }),
      instance({ name: "c", partition: { user: "zr-agent", uid: 2000 } }),
    ];
    const a = planReconcile({ ...base, desired: bad, releases: { "inst-0": ok, b: ok, c: ok }, records: {} });
    assert.deepEqual(
      a.map((x) => x.kind === "refuse" && x.reason),
      Array(3).fill("partition-unknown"),
    );
  });

  it("refuses a new instance in a partition still held by a retained instance", () => {
    const records = { old: record({ name: "old", holdsData: true, minimumPersistenceSeconds: 86_400 }) };
    const a = planReconcile({
      ...base,
      desired: [instance({ name: "new" })],
      releases: { new: ok },
      records,
    });
    assert.deepEqual(
      a.map((x) => [x.kind, x.kind === "refuse" ? x.reason : ""]),
      [
        ["retain", ""],
        ["refuse", "partition-busy"],
      ],
    );
  });

  it("reuses a partition freed by a destroy in the same pass, destroy first", () => {
    const records = { old: record({ name: "old" }) };
    const a = planReconcile({
      ...base,
      desired: [instance({ name: "new" })],
      releases: { new: ok },
      records,
    });
    assert.deepEqual(
      a.map((x) => x.kind),
      ["destroy", "apply"],
    );
  });

  it("keeps an instance whose release was refused as it is (no destroy, no update)", () => {
    const refused: ReleaseCheck = { ok: false, reason: "bad-signature", detail: "x" };
    const a = planReconcile({
      ...base,
      desired: [instance()],
      releases: { "inst-0": refused },
      records: { "inst-0": record() },
    });
    assert.deepEqual(
      a.map((x) => x.kind === "refuse" && x.reason),
      ["release-refused"],
    );
  });

  it("refuses to move an instance to another partition", () => {
    const a = planReconcile({
      ...base,
      desired: [instance({ partition: { user: "zr-p001", uid: 2101 } })],
      releases: { "inst-0": ok },
      records: { "inst-0": record() },
    });
    assert.equal(a[0].kind === "refuse" && a[0].reason, "partition-changed");
  });

  it("leaves an instance stopped after an anomaly stopped while the document still lists it", () => {
    const a = planReconcile({
      ...base,
      desired: [instance()],
      releases: { "inst-0": ok },
      records: { "inst-0": record({ phase: "stopped" }) },
    });
    assert.deepEqual(
      a.map((x) => x.kind),
      ["keep-stopped"],
    );
  });

  it("brings a retained instance back when the document lists it again", () => {
    const records = {
      "inst-0": record({ phase: "retained", holdsData: true, minimumPersistenceSeconds: 86_400 }),
    };
    const a = planReconcile({ ...base, desired: [instance()], releases: { "inst-0": ok }, records });
    assert.deepEqual(
      a.map((x) => [x.kind, x.kind === "apply" && x.isNew]),
      [["apply", false]],
    );
  });
});
