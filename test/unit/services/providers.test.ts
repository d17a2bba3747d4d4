/**
 * The signing the DesiredState resource does at deploy time (provider/resources/desiredState.ts),
 * verified as a node verifies it. The resource's check, diff and create over the plugin's gRPC
 * protocol are in test/integration/provider/services.test.ts; writing to etcd is in the lab tier.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signedDocumentFor } from "../../../provider/resources/desiredState";
import type { DesiredStateInputs, InstanceSpec } from "../../../lib/contracts/resources";
import * as pki from "../../../lib/pki";
import { verifyDesiredState } from "../../../lib/desired-state";
import { parseAuthorisationList } from "../../../lib/release";
import { identityOf, makeHierarchy } from "../release/fixtures";

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

const stateProps = (instances: InstanceSpec[]): DesiredStateInputs => ({
  computerId: "dc1-s01",
  dataCenter: "dc1",
  instances,
  validitySeconds: 3600,
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
        authorisedSigners: parseAuthorisationList({
          signers: [{ identity: "dc1/software/control-plane-dc1", desiredState: ["dc1"] }],
        }),
        node: identityOf(h, h.computer),
        lastAppliedVersion: 3,
      });
      assert.equal(v.ok, true, JSON.stringify(v));
    } finally {
      process.env = saved;
    }
  });
});
