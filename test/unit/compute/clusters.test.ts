import { strict as assert } from "node:assert";
import { join } from "node:path";
import {
  checkStackConfig,
  CLUSTER_LIMITS,
  formatIssues,
  readStackFile,
  type RawStackConfig,
} from "../../../lib/fleet";

const STACKS = join(__dirname, "../../../stacks");
const example = readStackFile(join(STACKS, "Pulumi.dc1.yaml"));
type Values = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const alice = () => ({
  owner: "dc1/user/alice",
  name: "analytics",
  release: "dask@2022.12.1",
  scheduler: { server: "dc1-c01", port: 8786 },
  workers: { count: 4, dataCenters: ["dc1", "dc2"], port: 8800 },
});

/** The example dc1 stack with `zeroroot:clusters` set by `change` (starting from one good cluster). */
function dc1With(change: (clusters: Values[], all: Values) => void): RawStackConfig {
  const values = structuredClone(example.values) as Values;
  values["zeroroot:clusters"] = [alice()];
  change(values["zeroroot:clusters"], values);
  return { values, isSecret: example.isSecret };
}

describe("zeroroot:clusters (per-user Dask clusters)", () => {
  it("accepts a cluster of alice on a compute server and resolves it", () => {
    const { value, issues } = checkStackConfig(dc1With(() => {}));
    assert.deepEqual(issues, [], formatIssues(issues));
    assert.equal(value?.kind, "dataCenter");
    if (value?.kind === "dataCenter") assert.deepEqual(value.clusters, [alice()]);
  });

  it("accepts the entry of a data center that only places workers (remote scheduler with its address)", () => {
    const { issues } = checkStackConfig(
      dc1With((c) => {
        c[0].scheduler = { dataCenter: "dc2", server: "dc2-c01", address: "10.78.2.21", port: 8786 };
      }),
    );
    assert.deepEqual(issues, [], formatIssues(issues));
  });

  it("accepts the addresses of the compute servers of another data center of the workers", () => {
    const { issues } = checkStackConfig(
      dc1With((c) => (c[0].workers.remoteComputeServers = { dc2: ["10.78.2.14", "fd00:78:2::15"] })),
    );
    assert.deepEqual(issues, [], formatIssues(issues));
  });

  it("resolves to [] when the key is absent", () => {
    const { value } = checkStackConfig(dc1With((_c, all) => delete all["zeroroot:clusters"]));
    assert.ok(value?.kind === "dataCenter" && value.clusters.length === 0);
  });

  // Each case: one mistake, the key path it must be reported at, and words of the reason.
  const cases: [string, (c: Values[], all: Values) => void, string, RegExp][] = [
    ["a service identity as owner", (c) => (c[0].owner = "dc1/service/etl"), "[0].owner", /user identity/],
    ["a bare name as owner", (c) => (c[0].owner = "alice"), "[0].owner", /not an identity/],
    ["an owner with a newline", (c) => (c[0].owner = "dc1/user/al\nice"), "[0].owner", /./],
    ["an upper-case cluster name", (c) => (c[0].name = "Analytics"), "[0].name", /cluster name/],
    ["an injection in the name", (c) => (c[0].name = 'a"; drop'), "[0].name", /cluster name/],
    [
      "a misspelt key",
      (c) => ((c[0].workers.cout = 2), delete c[0].workers.count),
      "[0].workers.cout",
      /did you mean count/,
    ],
    ["a missing scheduler", (c) => delete c[0].scheduler, "[0].scheduler", /./],
    ["zero workers", (c) => (c[0].workers.count = 0), "[0].workers.count", /at least 1/],
    [
      "too many workers",
      (c) => (c[0].workers.count = CLUSTER_LIMITS.workers + 1),
      "[0].workers.count",
      /at most 64/,
    ],
    ["a fractional worker count", (c) => (c[0].workers.count = 2.5), "[0].workers.count", /whole/],
    ["a privileged scheduler port", (c) => (c[0].scheduler.port = 80), "[0].scheduler.port", /1024/],
    ["a port above 65535", (c) => (c[0].scheduler.port = 70000), "[0].scheduler.port", /65535/],
    ["worker ports past the compute ports", (c) => (c[0].workers.port = 8848), "[0].workers.port", /<= 8849/],
    [
      "a scheduler port the image does not open",
      (c) => (c[0].scheduler.port = 9000),
      "[0].scheduler.port",
      /8786-8849/,
    ],
    [
      "a scheduler port among the workers' ports",
      (c) => (c[0].scheduler.port = 8801),
      "[0].scheduler.port",
      /outside the workers' ports 8800-8803/,
    ],
    [
      "two clusters sharing ports",
      (c) => c.push({ ...alice(), name: "second" }),
      "[1].workers.port",
      /no other cluster.*zeroroot:clusters\[0\]/,
    ],
    ["no release", (c) => delete c[0].release, "[0].release", /./],
    ["a release without a version", (c) => (c[0].release = "dask"), "[0].release", /./],
    [
      "an address for a scheduler of this data center",
      (c) => (c[0].scheduler.address = "10.78.1.21"),
      "[0].scheduler.address",
      /from the inventory/,
    ],
    [
      "a remote scheduler without its address",
      (c) => (c[0].scheduler.dataCenter = "dc2"),
      "[0].scheduler.address",
      /data address of dc1-c01/,
    ],
    [
      "a remote scheduler's address that is a name",
      (c) => Object.assign(c[0].scheduler, { dataCenter: "dc2", address: "c01.dc2.zeroroot.example" }),
      "[0].scheduler.address",
      /IPv4 or IPv6/,
    ],
    [
      "a remote scheduler while this data center runs no worker, for an owner no datastore here grants",
      (c) => {
        Object.assign(c[0], { owner: "dc2/user/erin" });
        Object.assign(c[0].scheduler, { dataCenter: "dc2", address: "10.78.2.21" });
        c[0].workers.dataCenters = ["dc2"];
      },
      "[0].workers.dataCenters",
      /a list with dc1, or an owner granted a datastore of this stack/,
    ],
    [
      // alice is granted postgresql in dc1: the entry is there for its job lines (cluster-job-access.ts)
      "an entry for the datastores' job lines that cannot place the workers",
      (c) => {
        Object.assign(c[0].scheduler, { dataCenter: "dc2", address: "10.78.2.21" });
        c[0].workers.dataCenters = ["dc2"];
      },
      "[0].workers.remoteComputeServers",
      /add dc2: \[/,
    ],
    ["no data center", (c) => (c[0].workers.dataCenters = []), "[0].workers.dataCenters", /at least one/],
    [
      "a data center twice",
      (c) => (c[0].workers.dataCenters = ["dc1", "dc1"]),
      "[0].workers.dataCenters[1]",
      /once/,
    ],
    [
      "a scheduler on a storage server",
      (c) => (c[0].scheduler.server = "dc1-s01"),
      "[0].scheduler.server",
      /compute server.*dc1-c01, dc1-c02/,
    ],
    [
      "a scheduler on an unknown server",
      (c) => (c[0].scheduler.server = "dc1-c09"),
      "[0].scheduler.server",
      /compute server/,
    ],
    ["the same cluster twice for one owner", (c) => c.push(alice()), "[1].name", /once per owner/],
    [
      "the port of a service on the scheduler's server",
      (c, all) => {
        // a platform service placed on the compute role (the scheduler's server among them)
        (all["zeroroot:services"] as Values[]).push({
          name: "dask",
          release: "dask@2022.12.1",
          placement: { role: "compute" },
          holdsData: false,
          endpoints: [{ port: 8786 }],
        });
        c[0].scheduler.port = 8786;
      },
      "[0].scheduler.port",
      /no service uses.*zeroroot:services\[\d+\]/,
    ],
    [
      "a list that is not a list",
      (_c, all) => (all["zeroroot:clusters"] = { owner: "x" }),
      "",
      /list of clusters/,
    ],
    [
      "remote compute servers of this stack's own data center",
      (c) => (c[0].workers.remoteComputeServers = { dc1: ["10.78.1.14"] }),
      "[0].workers.remoteComputeServers.dc1",
      /another data center of workers\.dataCenters/,
    ],
    [
      "remote compute servers of a data center without workers of the cluster",
      (c) => (c[0].workers.remoteComputeServers = { dc3: ["10.78.3.14"] }),
      "[0].workers.remoteComputeServers.dc3",
      /add it to workers\.dataCenters/,
    ],
    [
      "a host name for a remote compute server",
      (c) => (c[0].workers.remoteComputeServers = { dc2: ["c01.dc2.example"] }),
      "[0].workers.remoteComputeServers.dc2[0]",
      /IPv4 or IPv6 address/,
    ],
    [
      "too many clusters",
      (_c, all) =>
        (all["zeroroot:clusters"] = Array.from({ length: 65 }, (_, i) => ({ ...alice(), name: `c${i}` }))),
      "",
      /at most 64 clusters/,
    ],
  ];
  for (const [what, change, path, reason] of cases)
    it(`refuses ${what} at zeroroot:clusters${path}`, () => {
      const { value, issues } = checkStackConfig(dc1With(change));
      assert.equal(value, undefined);
      const hit = issues.find((i) => i.path === `zeroroot:clusters${path}`);
      assert.ok(hit, `expected an issue at zeroroot:clusters${path}, got:\n${formatIssues(issues)}`);
      assert.match(`${hit.allowed} ${hit.fix}`, reason);
      assert.ok(!/\n/.test(hit.received), "a received value never spans lines");
    });

  it("refuses clusters in the global stack", () => {
    const g = readStackFile(join(STACKS, "Pulumi.global.yaml"));
    const { issues } = checkStackConfig({ ...g, values: { ...g.values, "zeroroot:clusters": [alice()] } });
    assert.ok(issues.some((i) => i.path === "zeroroot:clusters" && /data-center stacks/.test(i.allowed)));
  });

  it("suggests the key for a misspelt zeroroot:cluster", () => {
    const { issues } = checkStackConfig(
      dc1With((_c, all) => {
        all["zeroroot:cluster"] = all["zeroroot:clusters"];
        delete all["zeroroot:clusters"];
      }),
    );
    assert.ok(
      issues.some((i) => i.path === "zeroroot:cluster" && /did you mean zeroroot:clusters/.test(i.fix)),
    );
  });
});
