import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { clustersInStack, mergeClusters, scanStacks } from "../../../lib/client-kit";
import { checkStackConfig, readStackFile } from "../../../lib/fleet";
import { parseIdentity, type Identity } from "../../../lib/pki";
import { addStack, editClusters, hierarchy, localCluster, stackDir, type ClusterEntry } from "./fixture";

const id = (text: string): Identity => {
  const parsed = parseIdentity(text);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
};

/** alice's example cluster, as its scheduler's stack (dc1) gives it. */
const ALICE_DC1 = "dc1/analytics tls://c01.dc1.zeroroot.example:8786 10.78.1.14";

describe("a user's Dask clusters from the stacks (lib/client-kit/clusters.ts)", function () {
  this.timeout(30_000);
  let rootPem: string;
  before(() => {
    rootPem = hierarchy("clusters test").rootPem;
  });

  /** The example dc1 and dc2 stacks (dc2 holds alice's cluster with its remote scheduler), then `change`. */
  const stacksWith = (change: (dir: string) => void = () => {}) => {
    const dir = stackDir(rootPem);
    addStack(dir, "dc2");
    change(dir);
    return dir;
  };
  const found = (dir: string, who: string) => {
    const scan = scanStacks(dir, id(who));
    return {
      clusters: scan.clusters.map(
        (c) => `${c.dataCenter}/${c.cluster} tls://${c.host}:${c.port} ${c.address}`,
      ),
      warnings: scan.warnings,
    };
  };
  const add = (stack: string, entry: ClusterEntry) => (dir: string) =>
    editClusters(dir, stack, (list) => list.push(entry));

  // Who asks, what the stacks hold, what the kit lists, and a warning it must (or must not) give.
  const cases: [string, string, (dir: string) => void, string[], RegExp | undefined][] = [
    [
      "lists the owner's cluster once, from its scheduler's stack, not again from dc2's remote-scheduler copy",
      "dc1/user/alice",
      () => {},
      [ALICE_DC1],
      undefined,
    ],
    [
      "does not take a remote-scheduler copy for a local one, even when its server id is also one of this stack's",
      "dc1/user/alice",
      (dir) =>
        editClusters(dir, "dc2", (list) => {
          (list[0].scheduler as Record<string, unknown>).server = "dc2-c01";
        }),
      [ALICE_DC1],
      undefined,
    ],
    [
      "lists none of alice's clusters for bob of the same data center",
      "dc1/user/bob",
      () => {},
      [],
      undefined,
    ],
    [
      "lists none of dc1/user/alice's clusters for an alice of dc2",
      "dc2/user/alice",
      () => {},
      [],
      undefined,
    ],
    [
      "lists only the owner's when a cluster of another owner has the same name in the same stack",
      "dc1/user/alice",
      add("dc1", localCluster("dc1/user/bob", "analytics", "dc1", "dc1-c01")),
      [ALICE_DC1],
      undefined,
    ],
    [
      "gives bob his own cluster and none of alice's",
      "dc1/user/bob",
      add("dc1", localCluster("dc1/user/bob", "analytics", "dc1", "dc1-c01")),
      ["dc1/analytics tls://c01.dc1.zeroroot.example:8787 10.78.1.14"],
      undefined,
    ],
    [
      "does not give dc1/user/alice the cluster of the same name that dc2/user/alice owns in dc2",
      "dc1/user/alice",
      add("dc2", localCluster("dc2/user/alice", "analytics", "dc2", "dc2-c02")),
      [ALICE_DC1],
      undefined,
    ],
    [
      "gives dc2/user/alice her dc2 cluster and not dc1/user/alice's",
      "dc2/user/alice",
      add("dc2", localCluster("dc2/user/alice", "analytics", "dc2", "dc2-c02")),
      ["dc2/analytics tls://c02.dc2.zeroroot.example:8787 10.78.2.15"],
      undefined,
    ],
    [
      "lists a second cluster of the same owner in another data center, each from its own stack",
      "dc1/user/alice",
      add("dc2", localCluster("dc1/user/alice", "training", "dc2", "dc2-c01")),
      [ALICE_DC1, "dc2/training tls://c01.dc2.zeroroot.example:8787 10.78.2.14"],
      undefined,
    ],
    [
      "lists nothing, with a warning, when only the remote-scheduler copy is among the stacks",
      "dc1/user/alice",
      (dir) => fs.rmSync(path.join(dir, "Pulumi.dc1.yaml")),
      [],
      /cluster dc1\/analytics: its scheduler's stack \(data center dc1\) is not among the stacks read/,
    ],
    [
      "lists nothing and warns of nothing when no stack declares clusters",
      "dc1/user/alice",
      (dir) => {
        editClusters(dir, "dc1", (list) => list.splice(0));
        editClusters(dir, "dc2", (list) => list.splice(0));
      },
      [],
      undefined,
    ],
    [
      "lists a cluster once when two stacks of its data center declare it, with a warning",
      "dc1/user/alice",
      (dir) => fs.copyFileSync(path.join(dir, "Pulumi.dc1.yaml"), path.join(dir, "Pulumi.dc1-copy.yaml")),
      [ALICE_DC1],
      /cluster dc1\/analytics is listed by another stack of dc1 too; kept the first/,
    ],
    [
      "never matches a bare name: a stack whose owner is just `alice` is refused and skipped",
      "dc1/user/alice",
      (dir) =>
        editClusters(dir, "dc1", (list) => list.push(localCluster("alice", "other", "dc1", "dc1-c01"))),
      [],
      /Pulumi\.dc1\.yaml skipped: \d+ configuration error/,
    ],
    [
      "never matches a service identity of the user's name: such an owner is refused and the stack skipped",
      "dc1/user/alice",
      (dir) =>
        editClusters(dir, "dc1", (list) =>
          list.push(localCluster("dc1/service/alice", "other", "dc1", "dc1-c01")),
        ),
      [],
      /Pulumi\.dc1\.yaml skipped/,
    ],
  ];
  for (const [title, who, change, expected, warning] of cases)
    it(`${title} (${who})`, () => {
      const r = found(stacksWith(change), who);
      assert.deepEqual(r.clusters, expected);
      if (warning)
        assert.ok(
          r.warnings.some((w) => warning.test(w)),
          r.warnings.join("\n"),
        );
      else assert.deepEqual(r.warnings, []);
    });

  it("gives no cluster to an identity that is not a user's, even with the owner's data center and name", () => {
    const raw = readStackFile(path.join(__dirname, "../../../stacks/Pulumi.dc1.yaml"));
    const { value } = checkStackConfig(raw, { plainSecrets: "leave-to-policy" });
    assert.ok(value?.kind === "dataCenter");
    assert.equal(clustersInStack(value, id("dc1/user/alice")).local.length, 1);
    assert.deepEqual(clustersInStack(value, id("dc1/service/alice")), { local: [], remote: [] });
    const computer: Identity = { dataCenter: "dc1", kind: "computer", name: "alice" };
    assert.deepEqual(clustersInStack(value, computer), { local: [], remote: [] });
  });

  it("keeps the first of two answers for one cluster and notes a remote copy that has its stack", () => {
    const c = {
      dataCenter: "dc1",
      cluster: "a",
      host: "c01.dc1.zeroroot.example",
      address: "10.0.0.1",
      port: 8786,
    };
    const warnings: string[] = [];
    const merged = mergeClusters(
      [
        { shown: "one", found: { local: [c], remote: [] } },
        { shown: "two", found: { local: [{ ...c, port: 8787 }], remote: [] } },
        { shown: "three", found: { local: [], remote: ["dc1/a"] } },
      ],
      warnings,
    );
    assert.deepEqual(merged, [c]);
    assert.deepEqual(warnings, ["two: cluster dc1/a is listed by another stack of dc1 too; kept the first"]);
  });
});
