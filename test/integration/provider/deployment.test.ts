/**
 * The lab's engine loop (lab/orchestrate/deployment.ts) driving the plugin over gRPC against a fake
 * BMC: create, unchanged, in-place update, replacement, refresh that sees a hand-made change,
 * delete of what the program no longer declares, secrets kept out of the state file, and state
 * recorded under the old dynamic-provider URNs moved by alias. The same with ipmi_sim and a moved
 * checkout is in test/lab/provider/.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment, PROVIDER_TYPE } from "../../../lab/orchestrate/deployment";
import { createRootCa } from "../../../lib/pki";
import { certificateSha256 } from "../../../lib/pki/fingerprint";
import { PluginHost, urnOf, type Props } from "../../../provider/host";
import { secret } from "../../../provider/values";
import { bmcServerWithSite } from "./bmc-server-fixture";
import { FakeBmcs } from "./fake-bmc";

const BMC = "zeroroot:fleet:BmcServer";
const ROOT = "zeroroot:pki:RootCa";
const bmcUrn = urnOf("dc1", "zeroroot", BMC, "dc1-s01-bmc");
const rootUrn = urnOf("dc1", "zeroroot", ROOT, "root");
const PORT = 16241;
const PASSWORD = "bmc-pass-2";

const server = (over: Props = {}): Props => bmcServerWithSite({ port: PORT, password: PASSWORD }, over);

describe("lab deployment loop over the plugin's gRPC protocol", function () {
  this.timeout(60_000);
  const bmcs = new FakeBmcs();
  const dir = mkdtempSync(join(tmpdir(), "zr-deploy-"));
  const statePath = join(dir, "dc1.json");
  const crypter = {
    encrypt: (s: string) => Buffer.from(s).toString("base64"),
    decrypt: (s: string) => Buffer.from(s, "base64").toString(),
  };
  let d: Deployment;
  let plugin: PluginHost;
  const open = (path = statePath, c: typeof crypter | undefined = crypter) =>
    new Deployment({ statePath: path, crypter: c, host: plugin });

  before(async () => {
    bmcs.set(PORT, { password: PASSWORD, power: "on", boot: { device: "pxe", persistent: false } });
    plugin = await PluginHost.start({ env: { ...process.env, PATH: bmcs.path() } });
    await plugin.configure();
    d = open();
  });
  after(async () => plugin?.close());
  /** A new run (a new `pulumi up`): the same state file read again. */
  const reopen = () => {
    d = open();
  };

  it("creates, then leaves unchanged what already matches", async () => {
    assert.equal((await d.register(bmcUrn, BMC, server())).outcome, "created");
    assert.equal((await d.register(rootUrn, ROOT, { commonName: "lab root" })).outcome, "created");
    assert.equal(bmcs.get(PORT).power, "off");
    assert.equal((await d.register(bmcUrn, BMC, server())).outcome, "unchanged");
  });

  it("keeps values only in the state file: no code, no checkout path, no secret in clear", () => {
    const text = readFileSync(statePath, "utf8");
    assert.ok(!text.includes("__provider") && !text.includes(process.cwd()), "no code and no checkout path");
    assert.ok(!text.includes(PASSWORD), "the BMC password is not in clear");
    assert.ok(!text.includes("PRIVATE KEY"), "the root key is not in clear");
  });

  it("refresh reports a boot device changed by hand; the next registration updates in place", async () => {
    bmcs.set(PORT, { ...bmcs.get(PORT), boot: { device: "pxe", persistent: true } });
    const drift = await d.refresh();
    assert.deepEqual(drift[bmcUrn].sort(), ["bootDevice", "observedBootDevice"]);
    // As the engine records a refresh: Read's inputs replace the stored inputs.
    assert.equal(d.recorded(bmcUrn)?.inputs.bootDevice, "pxe");
    assert.equal(d.recorded(bmcUrn)?.outs.observedBootDevice, "pxe");
    assert.equal((await d.register(bmcUrn, BMC, server())).outcome, "updated");
    assert.equal(bmcs.get(PORT).boot.device, "disk");
  });

  it("replaces a root whose name changed (create first, then delete the old one)", async () => {
    const before = d.recorded(rootUrn)?.id;
    const r = await d.register(rootUrn, ROOT, { commonName: "lab root 2" });
    assert.equal(r.outcome, "replaced");
    assert.notEqual(r.id, before);
  });

  it("deletes what the program no longer declares: the server is powered off", async () => {
    reopen();
    bmcs.set(PORT, { ...bmcs.get(PORT), power: "on" });
    await d.register(rootUrn, ROOT, { commonName: "lab root 2" });
    assert.deepEqual(await d.deleteUnregistered(), [bmcUrn]);
    assert.equal(bmcs.get(PORT).power, "off");
    assert.deepEqual(d.urns(), [rootUrn]);
  });

  it("moves state recorded under the dynamic-provider token to the plugin's token (alias)", async () => {
    const legacy = urnOf("dc1", "zeroroot", "pulumi-nodejs:dynamic/zeroroot:RootCa", "old-root");
    const state = JSON.parse(readFileSync(statePath, "utf8")) as { resources: Record<string, Props> };
    const { type: _t, ...v1 } = state.resources[rootUrn];
    writeFileSync(statePath, JSON.stringify({ [legacy]: v1 }));
    reopen();
    const r = await d.register(urnOf("dc1", "zeroroot", ROOT, "old-root"), ROOT, {
      commonName: "lab root 2",
    });
    assert.equal(r.outcome, "unchanged");
    assert.deepEqual(d.urns(), [urnOf("dc1", "zeroroot", ROOT, "old-root")]);
  });

  it("forgets a RandomPassword the lab's former stand-in recorded (no program declares one now), asking nothing of the plugin", async () => {
    const path = join(dir, "random.json");
    const randomUrn = urnOf(
      "dc1",
      "zeroroot",
      "random:index/randomPassword:RandomPassword",
      "dc1-s01-bmc-credential-password",
    );
    const record = { type: "random:index/randomPassword:RandomPassword", id: "none", inputs: { length: 16 } };
    writeFileSync(path, JSON.stringify({ version: 2, resources: { [randomUrn]: { ...record, outs: {} } } }));
    // No plugin: a call to it would fail this test.
    const old = new Deployment({ statePath: path, crypter, launcher: join(dir, "no-such-plugin") });
    try {
      assert.deepEqual(await old.deleteUnregistered(), [randomUrn]);
      assert.deepEqual(old.urns(), []);
    } finally {
      await old.close();
    }
    const saved = JSON.parse(readFileSync(path, "utf8")) as { resources: Props };
    assert.deepEqual(saved.resources, {});
  });

  it("configures the plugin from the stack's zeroroot provider, also in a run that starts from state", async () => {
    const path = join(dir, "provider.json");
    const root = createRootCa({ commonName: "deployment test root" }).certificatePem;
    const providerUrn = urnOf("dc1", "zeroroot", PROVIDER_TYPE, "dc1");
    const byDigest = server({
      rootCertificatePem: undefined,
      rootCertificateSha256: certificateSha256(root),
    });
    const env = { ...process.env, PATH: bmcs.path() };
    const first = new Deployment({ statePath: path, crypter, env });
    try {
      await assert.rejects(first.register(bmcUrn, BMC, byDigest), /no rootCertificatePem configured/);
      await first.register(providerUrn, PROVIDER_TYPE, { rootCertificatePem: root });
      assert.equal((await first.register(bmcUrn, BMC, byDigest)).outcome, "created");
    } finally {
      await first.close();
    }
    const state = JSON.parse(readFileSync(path, "utf8")) as { resources: Record<string, { inputs: Props }> };
    assert.equal(state.resources[bmcUrn].inputs.rootCertificatePem, undefined, "the server holds no PEM");
    // A new run: the plugin is configured from the recorded provider before any resource is checked.
    const next = new Deployment({ statePath: path, crypter, env });
    try {
      assert.equal((await next.register(bmcUrn, BMC, byDigest)).outcome, "unchanged");
      const other = server({
        rootCertificatePem: undefined,
        rootCertificateSha256: certificateSha256(createRootCa({ commonName: "other" }).certificatePem),
      });
      await assert.rejects(
        next.register(bmcUrn, BMC, other),
        /use one root for the provider and its resources/,
      );
    } finally {
      await next.close();
    }
  });

  it("without a stack passphrase, keeps only a digest of each secret and takes it back from the program", async () => {
    const path = join(dir, "global.json");
    const first = open(path, undefined);
    bmcs.set(PORT, { ...bmcs.get(PORT), power: "on" });
    assert.equal((await first.register(bmcUrn, BMC, server())).outcome, "created");
    assert.ok(!readFileSync(path, "utf8").includes(PASSWORD));
    const next = open(path, undefined);
    assert.equal((await next.register(bmcUrn, BMC, server())).outcome, "unchanged");
    const changed = server({ bmc: { ...(server().bmc as Props), password: secret("new-pass-3") } });
    bmcs.set(PORT, { ...bmcs.get(PORT), password: "new-pass-3" });
    assert.equal((await open(path, undefined).register(bmcUrn, BMC, changed)).outcome, "updated");
  });
});
