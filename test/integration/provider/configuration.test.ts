/**
 * The provider's configuration holds what every resource of a data center shares — the root, the
 * control plane, the site — once. Driven as the engine drives the plugin (child process, gRPC):
 * Configure judges the new keys; a BmcServer or DesiredState that leaves them out is checked, created,
 * read and updated with the configured values and never stores them; state written before the move
 * (the values in every resource's inputs, the root as PEM or digest) diffs as no change, and a value
 * that differs from the configuration as an in-place update, never a replacement. BmcServer against
 * a fake BMC (the lab drives ipmi_sim and a real site); DesiredState's publishing against etcd is in
 * control-plane.test.ts.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRootCa, exportPkcs8 } from "../../../lib/pki";
import { certificateSha256 } from "../../../lib/pki/fingerprint";
import { PluginHost, urnOf, type Props } from "../../../provider/host";
import { leanBmcServer } from "./bmc-server-fixture";
import { FakeBmcs } from "./fake-bmc";

const BMC = "zeroroot:fleet:BmcServer";
const DS = "zeroroot:desired-state:DesiredState";
const BMC_URN = urnOf(
  "dc1",
  "zeroroot",
  `zeroroot:fleet:DataCenter$zeroroot:fleet:Server$${BMC}`,
  "dc1-s01-bmc",
);
const DS_URN = urnOf("dc1", "zeroroot", DS, "dc1-s01-state");
const PORT = 16251;
const ROOT = createRootCa({ commonName: "configuration test root" });
const ROOT_PEM = ROOT.certificatePem;
// Never dialled here (DesiredState's publishing is control-plane.test.ts): names, as the client requires.
const ENDPOINTS = ["https://etcd.dc1.zeroroot.test:23791", "https://etcd.dc2.zeroroot.test:23792"];
const SITE_SERVER_NAME = "site.dc1.zeroroot.example";

/** A loopback port nothing listens on: the site the provider names, which refuses connections. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const lean = (over: Props = {}): Props => leanBmcServer({ port: PORT, password: "bmc-pass-1" }, over);

const leanState = (): Props => ({ computerId: "dc1-s01", dataCenter: "dc1", instances: [] });

describe("provider plugin over gRPC: what a data center's resources share is the provider's configuration", function () {
  this.timeout(60_000);
  const bmcs = new FakeBmcs();
  let plugin: PluginHost;
  let siteUrl: string;
  let config: Props;
  /** The same facts in every resource's inputs, as the version before this one stored them. */
  let previous: Props;

  before(async () => {
    siteUrl = `https://127.0.0.1:${await closedPort()}`;
    config = {
      rootCertificatePem: ROOT_PEM,
      controlPlaneEndpoints: ENDPOINTS,
      siteUrl,
      siteServerName: SITE_SERVER_NAME,
    };
    previous = {
      siteUrl,
      siteServerName: SITE_SERVER_NAME,
      rootCertificateSha256: certificateSha256(ROOT_PEM),
    };
    const dir = mkdtempSync(join(tmpdir(), "zr-provider-config-"));
    writeFileSync(join(dir, "operator.crt"), ROOT_PEM);
    writeFileSync(join(dir, "operator.key"), exportPkcs8(ROOT.ca.privateKey));
    bmcs.set(PORT, { password: "bmc-pass-1", power: "on", boot: { device: "pxe", persistent: false } });
    plugin = await PluginHost.start({
      env: {
        ...process.env,
        PATH: bmcs.path(),
        ZEROROOT_OPERATOR_CERT: join(dir, "operator.crt"),
        ZEROROOT_OPERATOR_KEY: join(dir, "operator.key"),
      },
    });
    await plugin.configure(config);
  });
  after(async () => plugin?.close());

  const checked = async (urn: string, inputs: Props) => {
    const r = await plugin.check(urn, {}, inputs);
    assert.deepEqual(r.failures, []);
    return r.inputs;
  };

  it("Configure refuses a malformed site, naming the key, with no stack trace, and keeps the configuration in force", async () => {
    // The whole table of hostile values is test/unit/provider/config-cases.ts; these cross gRPC.
    const cases: [Props, RegExp][] = [
      [{ ...config, siteUrl: "" }, /siteUrl is ""; empty; allowed: https:\/\//],
      [{ ...config, siteServerName: 7 }, /siteServerName is 7; not a string; allowed: a fully qualified/],
      [
        { ...config, siteUrl: "x".repeat(3000) },
        /siteUrl is "x{20,}\.\.\." \(3000 characters\); longer than 300/,
      ],
      [
        { ...config, siteUrl: "https://op:pw-1@127.0.0.1:8443" },
        /siteUrl is a string \(value hidden\); it carries a user/,
      ],
      [{ ...config, siteServerName: "10.77.1.2" }, /siteServerName is "10\.77\.1\.2"; an IP address/],
    ];
    for (const [bad, message] of cases)
      await assert.rejects(plugin.configure(bad), (e: Error) => {
        assert.match(e.message, message);
        assert.doesNotMatch(e.message, /\n\s+at |pw-1/, "no stack trace, no password");
        return true;
      });
    assert.deepEqual(
      (await plugin.check(BMC_URN, {}, lean())).failures,
      [],
      "the previous configuration holds",
    );
  });

  it("Check judges a BmcServer with the provider's site and root and stores neither", async () => {
    const inputs = await checked(BMC_URN, lean());
    for (const k of ["siteUrl", "siteServerName", "rootCertificateSha256", "rootCertificatePem"])
      assert.equal(inputs[k], undefined, `${k} is not stored with the resource`);
    assert.equal(inputs.phaseTimeoutSeconds, 600, "defaults are still filled");
  });

  it("Diff: state written with the site and root digest in every BmcServer (the provider's values) is no change", async () => {
    const news = await checked(BMC_URN, lean());
    const oldInputs = await checked(BMC_URN, lean(previous));
    assert.equal(oldInputs.siteUrl, siteUrl, "a resource that gives them keeps its own");
    const d = await plugin.diff("dc1-s01", BMC_URN, { observedPower: "off" }, news, oldInputs);
    assert.deepEqual([d.changes, d.replaces, d.diffs], [false, [], []]);
    // Older still: the root as PEM in every resource.
    const { rootCertificateSha256: _sha, ...withPem } = oldInputs;
    const older = { ...withPem, rootCertificatePem: ROOT_PEM };
    assert.equal((await plugin.diff("dc1-s01", BMC_URN, {}, news, older)).changes, false);
  });

  it("Diff: a site or root in the old state that is not the provider's is an in-place update, never a replacement", async () => {
    const news = await checked(BMC_URN, lean());
    const cases: [Props, string][] = [
      [{ siteUrl: "https://10.77.9.2:8443" }, "siteUrl"],
      [{ siteServerName: "site.dc9.zeroroot.example" }, "siteServerName"],
      [{ rootCertificateSha256: "0".repeat(64) }, "rootCertificateSha256"],
    ];
    for (const [over, key] of cases) {
      const d = await plugin.diff("dc1-s01", BMC_URN, {}, news, { ...news, ...previous, ...over });
      assert.deepEqual([d.changes, d.replaces, d.diffs], [true, [], [key]], key);
    }
  });

  it("Create leaves the provider's values out of the outputs and Read out of the inputs (a refresh stores no more)", async () => {
    const inputs = await checked(BMC_URN, lean());
    const created = await plugin.create(BMC_URN, inputs);
    assert.equal(bmcs.get(PORT).power, "off");
    const r = await plugin.read(created.id, BMC_URN, created.outs, inputs);
    for (const k of ["siteUrl", "siteServerName", "rootCertificateSha256"]) {
      assert.equal(created.outs[k], undefined, `outs.${k}`);
      assert.equal(r.inputs[k], undefined, `Read inputs.${k}`);
      assert.equal(r.props[k], undefined, `Read outs.${k}`);
    }
    assert.equal(r.inputs.power, "off");
    assert.equal((await plugin.diff(created.id, BMC_URN, r.props, inputs, r.inputs)).changes, false);
  });

  it("Create of a server to run reaches the site at the provider's siteUrl", async () => {
    const inputs = await checked(BMC_URN, lean({ power: "on", phaseTimeoutSeconds: 5 }));
    await assert.rejects(plugin.create(BMC_URN, inputs), (e: Error) => {
      // The site was asked, at the configured address (nothing listens there).
      assert.match(e.message, /ECONNREFUSED/);
      assert.ok(e.message.includes(siteUrl), e.message);
      return true;
    });
  });

  it("DesiredState: Check stores neither the control plane nor the root; state written with them diffs as no change", async () => {
    const news = await checked(DS_URN, leanState());
    assert.equal(news.controlPlaneEndpoints, undefined);
    assert.equal(news.rootCertificateSha256, undefined);
    const today = await checked(DS_URN, {
      ...leanState(),
      controlPlaneEndpoints: ENDPOINTS,
      rootCertificateSha256: certificateSha256(ROOT_PEM),
    });
    const outs = { version: 3, expiresAt: "2027-06-01T00:00:00.000Z", publishedVersion: 3 };
    assert.equal((await plugin.diff("dc1-s01", DS_URN, outs, news, today)).changes, false);
    // Another control plane in the old state: publish again (through the configured one), in place.
    const moved = await plugin.diff("dc1-s01", DS_URN, outs, news, {
      ...today,
      controlPlaneEndpoints: ["https://127.0.0.1:1"],
    });
    assert.deepEqual([moved.changes, moved.replaces, moved.diffs], [true, [], ["controlPlaneEndpoints"]]);
  });

  it("without configuration, a resource that leaves them out is refused at Check, naming the provider key to set", async () => {
    const bare = await PluginHost.start({ env: { ...process.env, PATH: bmcs.path() } });
    try {
      await bare.configure({});
      const b = await bare.check(BMC_URN, {}, lean());
      assert.deepEqual(b.failures.map((f) => f.property).sort(), [
        "rootCertificateSha256",
        "siteServerName",
        "siteUrl",
      ]);
      for (const f of b.failures)
        assert.match(f.reason, /set the zeroroot provider's (siteUrl|siteServerName|rootCertificatePem)/);
      assert.doesNotMatch(JSON.stringify(b.failures), /bmc-pass-1/);
      const s = await bare.check(DS_URN, {}, leanState());
      assert.deepEqual(s.failures.map((f) => f.property).sort(), [
        "controlPlaneEndpoints",
        "rootCertificateSha256",
      ]);
      assert.match(
        s.failures.find((f) => f.property === "controlPlaneEndpoints")!.reason,
        /zeroroot provider's controlPlaneEndpoints/,
      );
      // Given explicitly, as before the move, they still work without a provider configuration.
      const explicit = await bare.check(
        BMC_URN,
        {},
        lean({ siteUrl, siteServerName: SITE_SERVER_NAME, rootCertificatePem: ROOT_PEM }),
      );
      assert.deepEqual(explicit.failures, []);
      assert.equal(explicit.inputs.siteUrl, siteUrl);
    } finally {
      await bare.close();
    }
  });
});
