import { strict as assert } from "node:assert";
import {
  agentGroups,
  partitionIndex,
  partitionPaths,
  renderSupervisordConf,
  resolveHardenedImageSpec,
  HardeningSpecError,
} from "../../../lib/hardening";

describe("hardening: partition users for service instances", () => {
  it("pre-creates zr-p000… with uids from 2100, after zr-agent, with no programs of their own", () => {
    const spec = resolveHardenedImageSpec({ partitions: 3 });
    assert.deepEqual(
      spec.users.map((u) => [u.name, u.uid, u.programs.length, u.partition ?? false]),
      [
        ["zr-agent", 2000, 1, false],
        ["zr-p000", 2100, 0, true],
        ["zr-p001", 2101, 0, true],
        ["zr-p002", 2102, 0, true],
      ],
    );
    assert.deepEqual(agentGroups(3), [2100, 2101, 2102]);
  });

  it("opens a partition's supervisord socket to its group (zr-agent) and keeps the agent's own closed", () => {
    const spec = resolveHardenedImageSpec({ partitions: 1 });
    assert.match(renderSupervisordConf(spec.users[1]), /^chmod=0770$/m);
    assert.match(renderSupervisordConf(spec.users[0]), /^chmod=0700$/m);
  });

  it("leaves the spec (and its hash) of an image without partitions as it was", () => {
    assert.deepEqual(resolveHardenedImageSpec({ partitions: 0 }), resolveHardenedImageSpec({}));
  });

  it("refuses more than 1000 partitions and extra users inside the partition uid range", () => {
    assert.throws(() => resolveHardenedImageSpec({ partitions: 1001 }), HardeningSpecError);
    assert.throws(
      () => resolveHardenedImageSpec({ partitions: 10, extraUsers: [{ name: "svc", uid: 2105 }] }),
      /partition range 2100-2109/,
    );
  });

  it("recognises only pre-created partitions, by name and uid together", () => {
    assert.equal(partitionIndex("zr-p002", 2102, 3), 2);
    assert.equal(partitionIndex("zr-p003", 2103, 3), undefined);
    assert.equal(partitionIndex("zr-p002", 2000, 3), undefined);
    assert.equal(partitionPaths("zr-p002", "/x").socket, "/x/zr-p002/supervisor/supervisor.sock");
  });
});
