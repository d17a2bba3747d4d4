/**
 * The components as the engine sees them: each custom resource registers the plugin's type token
 * (`zeroroot:<module>:<Name>`), aliased to its old dynamic-provider token so existing state moves,
 * and sends only properties the plugin's package schema declares, with every required one present.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { createHash, X509Certificate } from "node:crypto";
import { Certificate, IssuingCa, RootCa } from "../../../components/pki";
import { createRootCa } from "../../../lib/pki";
import { certificateSha256 } from "../../../lib/pki/fingerprint";
import { legacyDynamicType, RESOURCE_TYPES } from "../../../lib/contracts/resources";
import { evaluateStack } from "../../../lab/stack-eval";
import { HANDLERS } from "../../../provider/provider";
import { promiseOf } from "../../helpers/pulumi-mocks";
import { asThePluginSees } from "../../helpers/plugin-view";

interface SchemaResource {
  inputProperties: Record<string, unknown>;
  properties: Record<string, unknown>;
  requiredInputs: string[];
}
const schema = JSON.parse(readFileSync(join(__dirname, "../../../provider/schema.json"), "utf8")) as {
  resources: Record<string, SchemaResource>;
};
const STACKS = join(__dirname, "../../../stacks");
const ROOT_PEM = "-----BEGIN CERTIFICATE-----\nMIIB(test root)\n-----END CERTIFICATE-----\n";

interface Registration {
  type: string;
  aliasTypes: string[];
  inputs: Record<string, unknown>;
}

/** Notes each custom registration's type, alias types and inputs, as the engine would receive them. */
function recordRegistrations(into: Registration[]): void {
  type Req = {
    getType(): string;
    getCustom(): boolean;
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
    getAliasesList(): { getSpec(): { getType(): string } | undefined }[];
  };
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: Req, cb: unknown): unknown;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    if (req.getCustom() && req.getType().startsWith("zeroroot:"))
      into.push({
        type: req.getType(),
        aliasTypes: req.getAliasesList().map((a) => a.getSpec()?.getType() ?? ""),
        inputs: req.getObject()?.toJavaScript() ?? {},
      });
    return original(req, cb);
  };
}

function assertMatchesSchema(r: Registration): void {
  const s = schema.resources[r.type];
  assert.ok(s, `${r.type} is in the schema`);
  const declared = new Set([...Object.keys(s.inputProperties), ...Object.keys(s.properties)]);
  const sent = Object.keys(r.inputs);
  assert.deepEqual(
    sent.filter((k) => !declared.has(k)),
    [],
    `${r.type} sends only declared properties`,
  );
  assert.deepEqual(
    s.requiredInputs.filter((k) => !sent.includes(k)),
    [],
    `${r.type} sends every required input`,
  );
  const kind = Object.entries(RESOURCE_TYPES).find(
    ([, t]) => t === r.type,
  )?.[0] as keyof typeof RESOURCE_TYPES;
  // Kinds new with the plugin never had a dynamic-provider token to move from.
  assert.deepEqual(
    r.aliasTypes,
    ["HardenedImage", "BmcCredential"].includes(kind) ? [] : [legacyDynamicType(kind)],
    `${r.type} is aliased to its dynamic-provider token`,
  );
}

describe("components as custom resources of the zeroroot plugin", function () {
  this.timeout(30_000);

  it("the schema declares exactly the types the plugin serves", () => {
    assert.deepEqual(Object.keys(schema.resources).sort(), HANDLERS.map((h) => h.token).sort());
  });

  it("RootCa, IssuingCa and Certificate register the plugin's tokens with declared properties and an alias", async () => {
    // Outputs a real create would give, so dependent resources receive values.
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => ({
          id: `${args.name}-id`,
          state: { ...args.inputs, certificatePem: ROOT_PEM, keyPem: "(key)" },
        }),
        call: (args) => args.inputs,
      },
      "zeroroot",
      "global",
      false,
    );
    const seen: Registration[] = [];
    recordRegistrations(seen);
    const root = new RootCa("root", { commonName: "test root" });
    const ca = new IssuingCa("dc1-ca", {
      dataCenter: "dc1",
      dnsZones: ["dc1.zeroroot.example"],
      csrPem: "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
      root: { certificatePem: root.certificatePem, keyPem: root.keyPem },
    });
    const cert = new Certificate("pg", {
      kind: "service",
      subject: "pg.dc1.zeroroot.example",
      csrPem: "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
      signer: { caCertificatePem: ca.certificatePem, keyPath: "/var/lib/zeroroot/ca/key.pem" },
    });
    await promiseOf(cert.urn);
    assert.deepEqual(
      seen.map((r) => r.type),
      [RESOURCE_TYPES.RootCa, RESOURCE_TYPES.IssuingCa, RESOURCE_TYPES.Certificate],
    );
    seen.forEach(assertMatchesSchema);
  });

  it("a data center's stack registers BmcServer, HardenedImage, SoftwareRelease and DesiredState the same way", async () => {
    const e = await evaluateStack(join(STACKS, "Pulumi.dc1.yaml"), {
      stackOutputs: {
        "organization/zeroroot/global": {
          domain: "zeroroot.example",
          dataCenters: ["dc1", "dc2", "dc3"],
          rootCertificatePem: ROOT_PEM,
        },
      },
    });
    const custom = e.resources.filter((r) => r.custom && r.type.startsWith("zeroroot:"));
    for (const t of [
      RESOURCE_TYPES.BmcServer,
      RESOURCE_TYPES.HardenedImage,
      RESOURCE_TYPES.SoftwareRelease,
      RESOURCE_TYPES.DesiredState,
    ])
      assert.ok(
        custom.some((r) => r.type === t),
        `the dc1 stack registers ${t}`,
      );
    custom.forEach((r) =>
      assertMatchesSchema({ type: r.type, aliasTypes: [...(r.aliasTypes ?? [])], inputs: r.inputs }),
    );
  });

  it("holds the root once per stack, in its zeroroot provider; resources name it by SHA-256 or leave it to the provider", async () => {
    const root = createRootCa({ commonName: "schema test root" }).certificatePem;
    const e = await evaluateStack(join(STACKS, "Pulumi.dc1.yaml"), {
      stackOutputs: {
        "organization/zeroroot/global": {
          domain: "zeroroot.example",
          dataCenters: ["dc1", "dc2", "dc3"],
          rootCertificatePem: root,
        },
      },
    });
    const providers = e.resources.filter((r) => r.type === "pulumi:providers:zeroroot");
    assert.equal(providers.length, 1);
    assert.equal(providers[0].inputs.rootCertificatePem, root);
    const needRoot = [RESOURCE_TYPES.BmcServer, RESOURCE_TYPES.SoftwareRelease, RESOURCE_TYPES.DesiredState];
    const users = e.resources.filter((r) => needRoot.includes(r.type));
    assert.ok(users.length >= 5);
    for (const r of users) {
      assert.equal(r.inputs.rootCertificatePem, undefined, `${r.name} holds no PEM`);
      // Named by SHA-256 (SoftwareRelease), or left to the provider that holds it (one per stack).
      assert.equal(asThePluginSees(r, e.resources).rootCertificateSha256, certificateSha256(root), r.name);
      if (r.type !== RESOURCE_TYPES.SoftwareRelease)
        assert.equal(r.inputs.rootCertificateSha256, undefined, `${r.name} leaves the root to its provider`);
      assert.equal(r.provider?.split("::")[3], "dc1", `${r.name} uses the stack's provider`);
    }
    // The reference is the DER's SHA-256: what openssl's -fingerprint -sha256 prints.
    assert.equal(
      certificateSha256(root),
      createHash("sha256").update(new X509Certificate(root).raw).digest("hex"),
    );
  });
});
