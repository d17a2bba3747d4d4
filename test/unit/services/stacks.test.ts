/** The example stacks with services, under mocks: per-computer desired state, releases, protection. */
import { strict as assert } from "node:assert";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { readStackFile } from "../../../lib/fleet";
import { certificateSha256 } from "../../../lib/pki/fingerprint";
import { evaluateStack, type Evaluation } from "../../../lab/stack-eval";
import { asThePluginSees } from "../../helpers/plugin-view";

const STACKS = join(__dirname, "../../../stacks");
const DS = "zeroroot:desired-state:DesiredState";
const SR = "zeroroot:release:SoftwareRelease";
/**
 * The datastores on each data center's first storage server: the PostgreSQL primary (dc1) and its
 * replica (dc2), a Galera member in every data center; the other storage servers run none.
 */
const DATASTORES: Record<string, string[]> = {
  dc1: ["postgresql", "galera"],
  dc2: ["postgresql", "galera"],
  dc3: ["galera"],
};
/**
 * alice's Dask cluster (`zeroroot:clusters`, the lab's: lab/releases/dask/lab.ts): its scheduler and
 * worker 0 on dc1's first compute server, worker 1 on dc2's; dc3 and the other servers run none.
 */
const CLUSTER_INSTANCES: Record<string, string[]> = {
  "dc1-c01": ["dask-dc1-alice-analytics-s", "dask-dc1-alice-analytics-w0"],
  "dc2-c01": ["dask-dc1-alice-analytics-w1"],
};
const RELEASES: Record<string, string[]> = {
  dc1: ["dask", "mariadb-galera", "postgresql"],
  dc2: ["dask", "mariadb-galera", "postgresql"],
  dc3: ["mariadb-galera"],
};

describe("services in the example stacks", function () {
  this.timeout(60_000);
  let global: Evaluation;
  const dcs: Record<string, Evaluation> = {};
  before(async () => {
    global = await evaluateStack(join(STACKS, "Pulumi.global.yaml"));
    for (const dc of ["dc1", "dc2", "dc3"])
      dcs[dc] = await evaluateStack(join(STACKS, `Pulumi.${dc}.yaml`), {
        stackOutputs: { "organization/zeroroot/global": global.outputs },
      });
  });

  it("the global stack keeps its root offline: only the certificate, no RootCa resource", () => {
    assert.deepEqual(
      global.resources.filter((r) => r.custom),
      [],
    );
    assert.match(String(global.outputs.rootCertificatePem), /^-----BEGIN CERTIFICATE-----/);
  });

  for (const dc of ["dc1", "dc2", "dc3"]) {
    it(`${dc}: registers one DesiredState per computer, each with its instances`, () => {
      const e = dcs[dc];
      const servers = (
        readStackFile(join(STACKS, `Pulumi.${dc}.yaml`)).values["zeroroot:dataCenter"] as {
          servers: { id: string; roles: string[] }[];
        }
      ).servers;
      const states = e.resources.filter((r) => r.type === DS);
      // one per computer, in whatever order their inputs resolved (a server with more releases waits longer)
      assert.deepEqual(
        states.map((r) => String(r.inputs.computerId)).sort(),
        servers.map((s) => s.id).sort(),
      );
      for (const s of servers) {
        const st = states.find((r) => r.inputs.computerId === s.id)!;
        const inst = st.inputs.instances as InstanceSpec[];
        assert.deepEqual(
          inst.map((i) => i.name),
          s.id === `${dc}-s01` ? DATASTORES[dc] : (CLUSTER_INSTANCES[s.id] ?? []),
          s.id,
        );
        for (const i of inst) {
          assert.match(i.partition.user, /^zr-p\d{3}$/);
          assert.equal(i.partition.uid, 2100 + Number(i.partition.user.slice(4)));
          assert.ok(i.programs.every((p) => p.user === i.partition.user && p.uid === i.partition.uid));
          assert.match(i.release.manifestDigest, /^sha256:[0-9a-f]{64}$/);
        }
        assert.equal(st.inputs.dataCenter, dc);
        // The control plane is the stack's zeroroot provider's (held once), as the plugin sees it.
        assert.deepEqual(asThePluginSees(st, dcs[dc].resources).controlPlaneEndpoints, [
          "https://etcd.dc1.zeroroot.example:2379",
          "https://etcd.dc2.zeroroot.example:2379",
          "https://etcd.dc3.zeroroot.example:2379",
        ]);
      }
    });

    it(`${dc}: protects and retains exactly the desired states that hold data`, () => {
      for (const st of dcs[dc].resources.filter((r) => r.type === DS)) {
        const holds = (st.inputs.instances as InstanceSpec[]).some((i) => i.holdsData);
        assert.deepEqual(st.options, { protect: holds, retainOnDelete: holds }, st.name);
        if (holds)
          assert.equal((st.inputs.instances as InstanceSpec[])[0].minimumPersistenceSeconds, 30 * 86_400);
      }
    });

    it(`${dc}: declares each release its services run as a SoftwareRelease, signature included`, () => {
      const rel = dcs[dc].resources.filter((r) => r.type === SR);
      assert.deepEqual(rel.map((r) => String(r.inputs.name)).sort(), RELEASES[dc]);
      for (const r of rel) {
        const file = `${String(r.inputs.name)}-${String(r.inputs.version)}.signed.json`;
        assert.ok(existsSync(join(STACKS, "../releases", file)), `releases/${file}`);
        assert.match(String(r.inputs.signerCertificatePem), /BEGIN CERTIFICATE/);
        assert.ok(String(r.inputs.signature).length > 40);
        // The root by reference: the stack's zeroroot provider holds the PEM once.
        assert.equal(
          r.inputs.rootCertificateSha256,
          certificateSha256(String(global.outputs.rootCertificatePem)),
        );
      }
      assert.deepEqual(dcs[dc].logs, []);
    });
  }

  it("keeps resources per computer: a data center's count does not grow with instances", () => {
    const e = dcs.dc1;
    const custom = e.resources.filter(
      (r) => r.custom && r.type !== "pulumi:pulumi:StackReference" && !r.type.startsWith("pulumi:providers:"),
    );
    // 5 servers: per server a BmcServer, a DesiredState, and its BMC credential (a BmcCredential
    // that makes its password itself: no random resource); then per data center its 3 releases + 1
    // HardenedImage.
    const perServer = ["BmcServer", "DesiredState", "BmcCredential"];
    for (const kind of perServer)
      assert.equal(custom.filter((r) => r.type.endsWith(`:${kind}`)).length, 5, kind);
    assert.equal(custom.length, 5 * perServer.length + 4);
  });
});
