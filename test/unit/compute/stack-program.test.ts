/**
 * The stack program with a user's cluster (example dc1 stack plus `zeroroot:clusters`, under mocks):
 * each process of the cluster is an instance of the signed Dask release in the desired state of its
 * server, in a partition of its own, its owner recorded for the agent; a cluster naming a release
 * that has no signed file is a config error at the cluster's own key.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { OWNER_PARAMETER } from "../../../lib/compute/cluster-services";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { evaluateStack, type Evaluation } from "../../../lab/stack-eval";
import { DASK_RELEASE_NAME, daskReleaseVersion } from "../../../lab/releases/dask/release";
import { EXAMPLE_PACKAGE_VERSIONS } from "../../../scripts/example-releases";

const STACKS = join(__dirname, "../../../stacks");
/** The example dask release (releases/, made by scripts/example-releases.ts). */
const EXAMPLE_DASK = `${DASK_RELEASE_NAME}@${daskReleaseVersion(EXAMPLE_PACKAGE_VERSIONS["python3-distributed"])}`;
const DS = "zeroroot:desired-state:DesiredState";

function stackWith(dir: string, release: string): string {
  const doc = parse(readFileSync(join(STACKS, "Pulumi.dc1.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  doc.config["zeroroot:clusters"] = [
    {
      owner: "dc1/user/alice",
      name: "analytics",
      release,
      scheduler: { server: "dc1-c01", port: 8786 },
      workers: { count: 3, dataCenters: ["dc1", "dc2"], port: 8800 },
    },
  ];
  const file = join(dir, "Pulumi.dc1.yaml");
  writeFileSync(file, stringify(doc));
  return file;
}

describe("a user's cluster in the stack program (stacks/program.ts)", function () {
  this.timeout(60_000);
  let dir: string;
  let dc1: Evaluation;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zr-cluster-stack-"));
    const global = await evaluateStack(join(STACKS, "Pulumi.global.yaml"));
    dc1 = await evaluateStack(stackWith(dir, EXAMPLE_DASK), {
      stackOutputs: { "organization/zeroroot/global": global.outputs },
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const instancesOf = (server: string) =>
    (dc1.resources.find((r) => r.type === DS && r.inputs.computerId === server)?.inputs.instances ??
      []) as InstanceSpec[];

  it("puts the scheduler and dc1's workers (0 and 2) in their servers' desired states, each in its own partition", () => {
    const c01 = instancesOf("dc1-c01").filter((i) => i.name.startsWith("dask-dc1-alice-analytics"));
    const c02 = instancesOf("dc1-c02").filter((i) => i.name.startsWith("dask-dc1-alice-analytics"));
    assert.deepEqual(
      c01.map((i) => i.name),
      ["dask-dc1-alice-analytics-s", "dask-dc1-alice-analytics-w0"],
    );
    assert.deepEqual(
      c02.map((i) => i.name),
      ["dask-dc1-alice-analytics-w2"],
    );
    const all = instancesOf("dc1-c01");
    assert.equal(new Set(all.map((i) => i.partition.uid)).size, all.length, "one partition per instance");
    for (const i of [...c01, ...c02]) {
      assert.equal(i.release.name, "dask");
      assert.equal(i.parameters[OWNER_PARAMETER], "dc1/user/alice");
      assert.ok(i.endpoints.every((e) => e.tls && e.requireClientCertificate));
    }
  });

  it("refuses a cluster whose release has no signed file, at zeroroot:clusters[0].release", async () => {
    await assert.rejects(
      evaluateStack(stackWith(dir, "dask@9.9.9")),
      (e: Error) => /zeroroot:clusters\[0\]\.release/.test(e.message) && /does not exist/.test(e.message),
    );
  });
});
