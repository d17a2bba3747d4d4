/**
 * What a data center's resources share is held once, by the stack's ZerorootProvider: a BmcServer
 * or DesiredState given the very values the provider holds (the root, the control plane, the site)
 * registers none of them; given anything else, or used without an explicit provider, it registers
 * them as before. Under Pulumi's mocks (the graph only; the plugin's side is
 * test/integration/provider/configuration.test.ts).
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { DesiredState } from "../../../components/desired-state";
import { DataCenter, siteOf } from "../../../components/fleet";
import { BmcServer } from "../../../components/fleet/bmcServer";
import { ZerorootProvider } from "../../../components/provider";
import { createRootCa } from "../../../lib/pki";
import { certificateSha256 } from "../../../lib/pki/fingerprint";
import { installMocks, settle, unwrapSecrets, type MockSession } from "../../helpers/pulumi-mocks";

const ROOT = createRootCa({ commonName: "provider configuration test root" }).certificatePem;
const OTHER_ROOT = createRootCa({ commonName: "another root" }).certificatePem;
const SITE = { url: "https://10.77.1.2:8443", serverName: "site.dc1.zeroroot.example" };
const ENDPOINTS = ["https://etcd.dc1.zeroroot.example:2379", "https://etcd.dc2.zeroroot.example:2379"];
const SITE_KEYS = ["siteUrl", "siteServerName", "rootCertificateSha256", "rootCertificatePem"];

const bmcArgs = (root: pulumi.Input<string>, site = SITE) => ({
  serverId: "dc1-s01",
  dataCenter: "dc1",
  hostname: "dc1-s01.dc1.zeroroot.example",
  macs: ["52:54:00:01:01:11"],
  bmc: {
    address: "10.77.1.11",
    port: 623,
    username: "admin",
    password: pulumi.secret("bmc-pass-1"),
    cipherSuite: 3 as const,
    ipmiVersion: "2.0" as const,
  },
  bootDevice: "disk" as const,
  power: "on" as const,
  siteUrl: site.url,
  siteServerName: site.serverName,
  rootCertificatePem: root,
});

describe("ZerorootProvider: what a data center's resources share is held once", () => {
  let session: MockSession;
  beforeEach(() => {
    session = installMocks({ stack: "dc1" });
  });
  const registered = async (name: string) => {
    await settle();
    const r = session.resources.find((x) => x.name === name);
    assert.ok(r, `${name} registered`);
    return { ...r, inputs: unwrapSecrets(r.inputs) as Record<string, unknown> };
  };
  const present = (inputs: Record<string, unknown>, keys: string[]) =>
    keys.filter((k) => inputs[k] !== undefined);

  it("the provider's inputs hold the root, the control plane and the site", async () => {
    const root = pulumi.output(ROOT);
    new ZerorootProvider("dc1", { rootCertificatePem: root, controlPlaneEndpoints: ENDPOINTS, site: SITE });
    const p = await registered("dc1");
    assert.equal(p.type, "pulumi:providers:zeroroot");
    assert.deepEqual(p.inputs, {
      rootCertificatePem: ROOT,
      controlPlaneEndpoints: ENDPOINTS,
      siteUrl: SITE.url,
      siteServerName: SITE.serverName,
    });
  });

  it("a BmcServer given the provider's own root and site registers neither, and uses that provider", async () => {
    const root = pulumi.output(ROOT);
    const provider = new ZerorootProvider("dc1", { rootCertificatePem: root, site: { ...SITE } });
    new BmcServer("dc1-s01-bmc", bmcArgs(root), { provider });
    const b = await registered("dc1-s01-bmc");
    assert.deepEqual(present(b.inputs, SITE_KEYS), []);
    assert.equal(b.provider?.split("::")[3], "dc1");
    // Everything else is still the resource's own.
    assert.equal(b.inputs.serverId, "dc1-s01");
    assert.deepEqual(b.inputs.macs, ["52:54:00:01:01:11"]);
  });

  it("a provider inherited from a parent component counts (providers: [provider])", async () => {
    const root = pulumi.output(ROOT);
    const provider = new ZerorootProvider("dc1", { rootCertificatePem: root, site: SITE });
    const parent = new pulumi.ComponentResource("test:index:Parent", "parent", {}, { providers: [provider] });
    new BmcServer("dc1-s01-bmc", bmcArgs(root), { parent });
    assert.deepEqual(present((await registered("dc1-s01-bmc")).inputs, SITE_KEYS), []);
  });

  it("a BmcServer given another site or another root registers them, the root by SHA-256", async () => {
    const root = pulumi.output(ROOT);
    const provider = new ZerorootProvider("dc1", { rootCertificatePem: root, site: SITE });
    const elsewhere = { url: "https://10.77.9.2:8443", serverName: "site.dc9.zeroroot.example" };
    new BmcServer("other-site", bmcArgs(root, elsewhere), { provider });
    new BmcServer("other-root", bmcArgs(pulumi.output(OTHER_ROOT)), { provider });
    // The same PEM in another Output is not known to be the same when the resource is built.
    new BmcServer("same-pem-other-output", bmcArgs(pulumi.output(ROOT)), { provider });
    const a = await registered("other-site");
    assert.deepEqual(present(a.inputs, SITE_KEYS), ["siteUrl", "siteServerName"]);
    assert.equal(a.inputs.siteUrl, elsewhere.url);
    const b = await registered("other-root");
    assert.deepEqual(present(b.inputs, SITE_KEYS), ["rootCertificateSha256"]);
    assert.equal(b.inputs.rootCertificateSha256, certificateSha256(OTHER_ROOT));
    const c = await registered("same-pem-other-output");
    assert.equal(c.inputs.rootCertificateSha256, certificateSha256(ROOT));
  });

  it("without an explicit provider a BmcServer registers its site and root as before", async () => {
    new BmcServer("dc1-s01-bmc", bmcArgs(ROOT));
    const b = await registered("dc1-s01-bmc");
    assert.deepEqual(present(b.inputs, SITE_KEYS), ["siteUrl", "siteServerName", "rootCertificateSha256"]);
    assert.equal(b.inputs.siteServerName, SITE.serverName);
    assert.equal(b.inputs.rootCertificateSha256, certificateSha256(ROOT));
  });

  it("a DesiredState given the provider's control plane (the same Output, or an equal list) and root registers neither", async () => {
    const root = pulumi.output(ROOT);
    const endpoints = pulumi.output(ENDPOINTS);
    const provider = new ZerorootProvider("dc1", {
      rootCertificatePem: root,
      controlPlaneEndpoints: endpoints,
    });
    const args = { computerId: "dc1-s01", dataCenter: "dc1", instances: [], rootCertificatePem: root };
    new DesiredState("same-output", { ...args, controlPlaneEndpoints: endpoints }, { provider });
    const plain = new ZerorootProvider("plain", {
      rootCertificatePem: root,
      controlPlaneEndpoints: ENDPOINTS,
    });
    new DesiredState("equal-list", { ...args, controlPlaneEndpoints: [...ENDPOINTS] }, { provider: plain });
    new DesiredState("other-list", { ...args, controlPlaneEndpoints: [ENDPOINTS[0]] }, { provider: plain });
    const keys = ["controlPlaneEndpoints", "rootCertificateSha256"];
    assert.deepEqual(present((await registered("same-output")).inputs, keys), []);
    assert.deepEqual(present((await registered("equal-list")).inputs, keys), []);
    const other = await registered("other-list");
    assert.deepEqual(present(other.inputs, keys), ["controlPlaneEndpoints"]);
    assert.deepEqual(other.inputs.controlPlaneEndpoints, [ENDPOINTS[0]]);
  });

  it("without an explicit provider a DesiredState registers its control plane and root as before", async () => {
    new DesiredState("dc1-s01-state", {
      computerId: "dc1-s01",
      dataCenter: "dc1",
      instances: [],
      controlPlaneEndpoints: ENDPOINTS,
      rootCertificatePem: ROOT,
    });
    const s = await registered("dc1-s01-state");
    assert.deepEqual(s.inputs.controlPlaneEndpoints, ENDPOINTS);
    assert.equal(s.inputs.rootCertificateSha256, certificateSha256(ROOT));
  });

  it("a DataCenter under a provider given siteOf(its args) leaves the site and root to it on every server", async () => {
    const root = pulumi.output(ROOT);
    const dc = {
      name: "dc1",
      domain: "zeroroot.example",
      managementServer: {
        id: "dc1-m1",
        hostname: "dc1-m1.dc1.zeroroot.example",
        managementAddress: "10.77.1.2",
        dataAddress: "10.78.1.2",
      },
      sitePort: 9443,
    };
    assert.deepEqual(siteOf(dc), { url: "https://10.77.1.2:9443", serverName: "site.dc1.zeroroot.example" });
    const provider = new ZerorootProvider("dc1", { rootCertificatePem: root, site: siteOf(dc) });
    new DataCenter(
      "dc1",
      {
        ...dc,
        rootCertificatePem: root,
        servers: ["dc1-s01", "dc1-s02"].map((id, i) => ({
          id,
          hostname: `${id}.dc1.zeroroot.example`,
          roles: ["compute" as const],
          address: `10.78.1.${11 + i}`,
          macs: [`52:54:00:01:01:1${i}`],
          bmc: { address: `10.77.1.${11 + i}`, username: "admin", password: pulumi.secret("p") },
        })),
      },
      { providers: [provider] },
    );
    await settle();
    const bmcs = session.byType("zeroroot:fleet:BmcServer");
    assert.equal(bmcs.length, 2);
    for (const b of bmcs) assert.deepEqual(present(b.inputs, SITE_KEYS), [], b.name);
  });
});
