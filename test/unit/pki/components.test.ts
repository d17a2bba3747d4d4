import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { resourceType } from "../../../lib/contracts/resources";
import * as pki from "../../../lib/pki";
import { Certificate, IssuingCa, RootCa, rootCaOptions } from "../../../components/pki";
import { HANDLERS } from "../../../provider/provider";
import { certificate as certificateHandler } from "../../../provider/resources/certificate";
import { issuingCa as issuingCaHandler } from "../../../provider/resources/issuingCa";
import { rootCa as rootCaHandler } from "../../../provider/resources/rootCa";
import { isWrappedSecret, promiseOf, unwrapSecrets } from "../../helpers/pulumi-mocks";
import { FIXTURE_KDF_ITERATIONS } from "../../helpers/test-keys";
import { tempDir } from "./helpers";

interface Seen {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** Mocks that perform each pki resource's real check and create (the plugin's handlers, in process). */
function mocksRunningProviders(seen: Seen[]): void {
  void pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const handler = HANDLERS.find((h) => h.token === args.type);
        const inputs = args.inputs as Record<string, unknown>;
        let outputs = inputs;
        try {
          const checked = handler?.check?.(unwrapSecrets(inputs) as Record<string, unknown>);
          if (checked?.failures.length) throw new Error(JSON.stringify(checked.failures));
          if (handler && checked) outputs = (await handler.create(checked.inputs)).outs;
        } catch (err) {
          outputs = { error: String(err) };
        }
        seen.push({ type: args.type, name: args.name, inputs: args.inputs, outputs });
        return { id: `${args.name}-id`, state: outputs };
      },
      call: (args) => args.inputs,
    },
    "zeroroot",
    "global",
    false,
  );
}

describe("components/pki", function () {
  this.timeout(30_000);
  const node = pki.generateKeyPair();
  const issuingKey = pki.generateKeyPair();
  const keyDir = tempDir("mgmt");

  it("keeps every private key out of resource inputs and outputs, except the root key as a secret", async () => {
    const seen: Seen[] = [];
    mocksRunningProviders(seen);
    const root = new RootCa("root", { commonName: "zeroroot.example root CA" });
    const issuing = new IssuingCa("dc1-ca", {
      dataCenter: "dc1",
      dnsZones: ["dc1.zeroroot.example"],
      ipNetworks: ["10.77.1.0/24"],
      csrPem: pki.createCsr({ commonName: "dc1.zeroroot.example issuing CA" }, issuingKey.privateKey),
      root: { certificatePem: root.certificatePem, keyPem: root.keyPem },
    });
    const caPem = await promiseOf(issuing.certificatePem);
    fs.writeFileSync(
      path.join(keyDir, "ca.key"),
      pki.exportPkcs8(issuingKey.privateKey, {
        passphrase: "site passphrase",
        iterations: FIXTURE_KDF_ITERATIONS,
      }),
      { mode: 0o600 },
    );
    fs.writeFileSync(path.join(keyDir, "pass"), "site passphrase\n");
    const cert = new Certificate("pg", {
      kind: "service",
      subject: "pg.dc1.zeroroot.example",
      dnsNames: ["pg.dc1.zeroroot.example"],
      csrPem: pki.createCsr(
        { commonName: "pg.dc1.zeroroot.example", dnsNames: ["pg.dc1.zeroroot.example"] },
        node.privateKey,
      ),
      signer: {
        caCertificatePem: caPem,
        keyPath: path.join(keyDir, "ca.key"),
        passphrasePath: path.join(keyDir, "pass"),
      },
    });
    const leafPem = await promiseOf(cert.certPem);
    assert.equal(
      pki.verifyCertificate([leafPem, caPem], await promiseOf(root.certificatePem), { use: "serverAuth" }).ok,
      true,
    );

    assert.deepEqual(
      seen.map((s) => s.type),
      [resourceType("RootCa"), resourceType("IssuingCa"), resourceType("Certificate")],
    );
    for (const s of seen) assert.equal(s.outputs.error, undefined, String(s.outputs.error));
    const keyish = /PRIVATE KEY/;
    const holders: string[] = [];
    for (const s of seen) {
      for (const [where, bag] of [
        ["input", s.inputs],
        ["output", s.outputs],
      ] as const) {
        for (const [k, v] of Object.entries(bag)) {
          if (keyish.test(JSON.stringify(unwrapSecrets(v))))
            holders.push(
              `${s.name}.${where}.${k}${where === "input" && isWrappedSecret(v) ? " (secret)" : ""}`,
            );
        }
      }
    }
    assert.deepEqual(holders.sort(), ["dc1-ca.input.rootKeyPem (secret)", "root.output.keyPem"]);
    assert.deepEqual(rootCaOptions().additionalSecretOutputs, ["keyPem"]);
  });

  it("replaces a certificate inside its renewal window and not before", async () => {
    const base = { kind: "service", renewBeforeDays: 30, keyPath: "/k", passphrasePath: "" } as Record<
      string,
      unknown
    >;
    const far = { ...base, notAfter: new Date(Date.now() + 60 * 86_400_000).toISOString() };
    const near = { ...base, notAfter: new Date(Date.now() + 10 * 86_400_000).toISOString() };
    assert.deepEqual(certificateHandler.diff("id", far, base).replaces, []);
    assert.deepEqual(certificateHandler.diff("id", near, base).replaces, ["notAfter"]);
    assert.deepEqual(
      rootCaHandler.diff("id", { ...near, renewBeforeDays: 730 }, { ...base, renewBeforeDays: 730 }).replaces,
      ["notAfter"],
    );
  });

  it("issues the IssuingCa certificate with path length 0 and the data center's name constraints", async () => {
    const root = await rootCaHandler.create({
      commonName: "r",
      keyType: "ec-p256",
      validityDays: 3650,
      renewBeforeDays: 365,
    });
    const out = await issuingCaHandler.create({
      dataCenter: "dc2",
      dnsZones: ["dc2.zeroroot.example"],
      ipNetworks: [],
      csrPem: pki.createCsr({ commonName: "dc2.zeroroot.example issuing CA" }, issuingKey.privateKey),
      rootCertificatePem: root.outs.certificatePem,
      rootKeyPem: root.outs.keyPem,
      validityDays: 1825,
      renewBeforeDays: 365,
    });
    const info = pki.parseCertificate(String(out.outs.certificatePem));
    assert.equal(info.pathLen, 0);
    assert.deepEqual(info.nameScope, {
      dnsZones: ["dc2.zeroroot.example"],
      ipNetworks: [],
      excludeAllIps: true,
      uriHosts: pki.LEAF_KINDS.map((k) => `${k}.dc2.zeroroot.example`),
    });
    assert.equal("rootKeyPem" in out.outs, false);
  });
});
