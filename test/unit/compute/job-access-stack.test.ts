/**
 * The datastores' job lines in the stack program (stacks/program.ts, under mocks): each datastore
 * instance of a desired state carries the `jobAccess` parameter, one line per worker node of its
 * grantees' clusters, the same from every data center's stack; a stack that runs no process of a
 * cluster lists it for its datastores' sake, and what such an entry cannot place is a config error
 * at the cluster's key (lib/fleet/cluster-job-access.ts).
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { JOB_ACCESS_PARAMETER } from "../../../lib/compute/job-access";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { evaluateStack, type Evaluation } from "../../../lab/stack-eval";

const STACKS = join(__dirname, "../../../stacks");
const DS = "zeroroot:desired-state:DesiredState";
const GLOBAL = "organization/zeroroot/global";

type Config = Record<string, unknown>;
/** The example stack of `dc` with `edit` applied to its config, written to `dir`. */
function stackFile(dir: string, dc: string, edit: (config: Config) => void = () => {}): string {
  const doc = parse(readFileSync(join(STACKS, `Pulumi.${dc}.yaml`), "utf8")) as { config: Config };
  edit(doc.config);
  const file = join(dir, `Pulumi.${dc}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

/** The Dask release of the example cluster (scripts/example-releases.ts writes it). */
const DASK_REF = (
  parse(readFileSync(join(STACKS, "Pulumi.dc1.yaml"), "utf8")) as {
    config: { "zeroroot:clusters": { release: string }[] };
  }
).config["zeroroot:clusters"][0].release;

/** alice's example cluster (stacks/Pulumi.dc1.yaml) as a dc3 stack lists it for its datastores. */
const ALICE_FOR_DATASTORES = {
  owner: "dc1/user/alice",
  name: "analytics",
  release: DASK_REF,
  scheduler: { dataCenter: "dc1", server: "dc1-c01", address: "10.78.1.14", port: 8786 },
  workers: {
    count: 2,
    dataCenters: ["dc1", "dc2"],
    port: 8800,
    remoteComputeServers: { dc1: ["10.78.1.14", "10.78.1.15"], dc2: ["10.78.2.14", "10.78.2.15"] },
  },
};
const grantAliceOnGalera = (
  c: Config,
  jobIssuers = "dc1 /CN=zeroroot issuing CA dc1; dc2 /CN=zeroroot issuing CA dc2",
) => {
  (c["zeroroot:dataAccess"] as { service: string; grants: unknown[] }[])
    .find((e) => e.service === "galera")!
    .grants.push({ user: "dc1/user/alice", access: "readwrite" });
  const galera = (c["zeroroot:services"] as { name: string; parameters: Record<string, string> }[]).find(
    (s) => s.name === "galera",
  )!;
  galera.parameters.jobIssuers = jobIssuers;
};

/** The lines alice's two workers (worker 0 on dc1-c01, worker 1 on dc2-c01) give a grant. */
const aliceLines = (database: string, access: string) =>
  [
    `${database} dc1/user/alice ${access} dc1 10.78.1.14`,
    `${database} dc1/user/alice ${access} dc2 10.78.2.14`,
  ].join("\n");

describe("job lines of the datastores in the stack program (jobAccess)", function () {
  this.timeout(120_000);
  let dir: string;
  let global: Evaluation;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zr-job-access-stack-"));
    global = await evaluateStack(join(STACKS, "Pulumi.global.yaml"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const evaluate = (file: string) => evaluateStack(file, { stackOutputs: { [GLOBAL]: global.outputs } });
  const instance = (e: Evaluation, name: string): InstanceSpec => {
    const all = e.resources
      .filter((r) => r.type === DS)
      .flatMap((r) => (r.inputs.instances ?? []) as InstanceSpec[])
      .filter((i) => i.name === name);
    assert.equal(all.length, 1, `one ${name} instance in the stack`);
    return all[0];
  };

  it("gives the PostgreSQL primary (dc1) and replica (dc2) the same lines: each of alice's worker nodes", async () => {
    const dc1 = await evaluate(stackFile(dir, "dc1"));
    const dc2 = await evaluate(stackFile(dir, "dc2"));
    const expected = aliceLines("analytics", "readwrite");
    assert.equal(instance(dc1, "postgresql").parameters[JOB_ACCESS_PARAMETER], expected);
    assert.equal(instance(dc2, "postgresql").parameters[JOB_ACCESS_PARAMETER], expected);
    // bob is granted too, but runs no cluster; dave and carol (Galera) neither
    assert.equal(instance(dc1, "galera").parameters[JOB_ACCESS_PARAMETER], "");
    // a cluster's own processes are no datastore: no job lines
    const worker = dc1.resources
      .filter((r) => r.type === DS)
      .flatMap((r) => (r.inputs.instances ?? []) as InstanceSpec[])
      .find((i) => i.release.name === "dask");
    assert.ok(worker);
    assert.equal(worker.parameters[JOB_ACCESS_PARAMETER], undefined);
  });

  it("gives every Galera member the same lines when dc3 lists the cluster it runs nothing of", async () => {
    const dc1 = await evaluate(stackFile(dir, "dc1", grantAliceOnGalera));
    const dc3 = await evaluate(
      stackFile(dir, "dc3", (c) => {
        grantAliceOnGalera(c);
        c["zeroroot:clusters"] = [ALICE_FOR_DATASTORES];
      }),
    );
    const expected = aliceLines("shop", "readwrite");
    assert.equal(instance(dc1, "galera").parameters[JOB_ACCESS_PARAMETER], expected);
    assert.equal(instance(dc3, "galera").parameters[JOB_ACCESS_PARAMETER], expected);
    const dask = dc3.resources
      .filter((r) => r.type === DS)
      .flatMap((r) => (r.inputs.instances ?? []) as InstanceSpec[])
      .filter((i) => i.release.name === "dask");
    assert.deepEqual(dask, [], "the entry runs no process in dc3");
  });

  const refused: [string, (c: Config) => void, RegExp][] = [
    [
      "a cluster dc3 runs nothing of, whose owner no datastore of dc3 grants",
      (c) => (c["zeroroot:clusters"] = [ALICE_FOR_DATASTORES]),
      /zeroroot:clusters\[0\]\.workers\.dataCenters[\s\S]*or an owner granted a datastore of this stack/,
    ],
    [
      "a cluster listed for dc3's datastores without dc2's compute servers",
      (c) => {
        grantAliceOnGalera(c);
        c["zeroroot:clusters"] = [
          {
            ...ALICE_FOR_DATASTORES,
            workers: { ...ALICE_FOR_DATASTORES.workers, remoteComputeServers: { dc1: ["10.78.1.14"] } },
          },
        ];
      },
      /zeroroot:clusters\[0\]\.workers\.remoteComputeServers[\s\S]*dc2 included[\s\S]*add dc2: \[/,
    ],
    [
      "a Galera service whose jobIssuers does not name a worker data center's site CA",
      (c) => {
        grantAliceOnGalera(c, "dc1 /CN=zeroroot issuing CA dc1");
        c["zeroroot:clusters"] = [ALICE_FOR_DATASTORES];
      },
      /zeroroot:services\[\d+\]\.parameters\.jobIssuers[\s\S]*dc2 missing[\s\S]*add "dc2 <\/O=\.\.\.\/CN=\.\.\.>"/,
    ],
  ];
  for (const [what, edit, match] of refused)
    it(`refuses ${what}, at its key`, async () => {
      await assert.rejects(evaluate(stackFile(dir, "dc3", edit)), (e: Error) => match.test(e.message));
    });

  it("accepts in dc1 alice's cluster without dc2's servers, and its dc2 workers get no lines there", async () => {
    const dc1 = await evaluate(
      stackFile(dir, "dc1", (c) => {
        const [cluster] = c["zeroroot:clusters"] as { workers: Record<string, unknown> }[];
        delete cluster.workers.remoteComputeServers;
      }),
    );
    assert.equal(
      instance(dc1, "postgresql").parameters[JOB_ACCESS_PARAMETER],
      "analytics dc1/user/alice readwrite dc1 10.78.1.14",
    );
  });
});
