/**
 * The plugin as the engine drives it (a child process, the SDK's gRPC client), for BmcServer against
 * a fake BMC (integration tier; the lab tier drives ipmi_sim): `read` reports what the BMC says now,
 * so a boot device changed by hand shows as `pulumi refresh` would show it, and the next diff asks
 * for an in-place update. Also the protocol itself: schema, Configure, unknown types, preview values.
 */
import { strict as assert } from "node:assert";
import { createRootCa } from "../../../lib/pki";
import { certificateSha256 } from "../../../lib/pki/fingerprint";
import { HANDLERS } from "../../../provider/provider";
import { PluginHost, urnOf, type Props } from "../../../provider/host";
import { SECRET_SIG, UNKNOWN, secret } from "../../../provider/values";
import { bmcServerWithSite } from "./bmc-server-fixture";
import { FakeBmcs } from "./fake-bmc";

const TYPE = "zeroroot:fleet:BmcServer";
const URN = urnOf("dc1", "zeroroot", `zeroroot:fleet:DataCenter$${TYPE}`, "dc1-s01-bmc");
const PORT = 16231;
const inputs = (over: Props = {}): Props => bmcServerWithSite({ port: PORT, password: "bmc-pass-1" }, over);

const isSecret = (v: unknown) => !!v && typeof v === "object" && SECRET_SIG in v;

describe("provider plugin over gRPC: BmcServer against a fake BMC", function () {
  this.timeout(60_000);
  const bmcs = new FakeBmcs();
  let plugin: PluginHost;
  // As the engine stores a resource: its (checked) inputs and its outputs, which do not repeat them.
  let state: { id: string; inputs: Props; outs: Props };

  before(async () => {
    bmcs.set(PORT, { password: "bmc-pass-1", power: "on", boot: { device: "pxe", persistent: false } });
    plugin = await PluginHost.start({ env: { ...process.env, PATH: bmcs.path() } });
  });
  after(async () => plugin?.close());

  it("answers GetSchema with package zeroroot and one resource per type it serves", async () => {
    const schema = await plugin.getSchema();
    assert.equal(schema.name, "zeroroot");
    assert.deepEqual(Object.keys(schema.resources as Props).sort(), HANDLERS.map((h) => h.token).sort());
    assert.equal(await plugin.getPluginInfo(), schema.version);
  });

  it("accepts secrets at Configure, so the engine keeps them marked on the wire", async () => {
    assert.deepEqual(await plugin.configure(), { acceptSecrets: true });
  });

  it("refuses a type it does not serve, naming the types it serves", async () => {
    await assert.rejects(
      plugin.check(urnOf("dc1", "zeroroot", "zeroroot:fleet:Toaster", "t"), {}, {}),
      /"zeroroot:fleet:Toaster" is not served by pulumi-resource-zeroroot; it serves: .*zeroroot:fleet:BmcServer/,
    );
  });

  it("Check fills defaults and refuses cipher suite 0 and a bad MAC, without echoing the password", async () => {
    const ok = await plugin.check(URN, {}, inputs({ power: undefined, phaseTimeoutSeconds: undefined }));
    assert.deepEqual(ok.failures, []);
    assert.equal(ok.inputs.power, "on");
    assert.equal(ok.inputs.phaseTimeoutSeconds, 600);
    assert.ok(isSecret((ok.inputs.bmc as Props).password), "the password stays a secret after Check");
    const bad = await plugin.check(
      URN,
      {},
      inputs({
        macs: ["52:54:00:01:01:1G"],
        bmc: { ...(inputs().bmc as Props), cipherSuite: 0, password: secret("x".repeat(21)) },
      }),
    );
    const byProp = Object.fromEntries(bad.failures.map((f) => [f.property, f.reason]));
    assert.match(byProp["bmc.cipherSuite"], /cipherSuite is 0; allowed: 3, 17/);
    assert.match(byProp["macs[0]"], /"52:54:00:01:01:1G"; give aa:bb:cc:dd:ee:ff/);
    assert.equal(byProp["bmc.password"], "bmc.password: give 1-20 bytes");
    assert.ok(!JSON.stringify(bad.failures).includes("xxxxxxxxxx"));
  });

  it("Check lets unknown values (preview) through, to be judged once known", async () => {
    const r = await plugin.check(URN, {}, inputs({ rootCertificatePem: UNKNOWN }));
    assert.deepEqual(r.failures, []);
  });

  it("Create of a server to keep off sets its boot device and powers it off through the BMC", async () => {
    const checked = (await plugin.check(URN, {}, inputs())).inputs;
    state = { ...(await plugin.create(URN, checked)), inputs: checked };
    assert.equal(state.id, "dc1-s01");
    assert.deepEqual(bmcs.get(PORT).boot, { device: "disk", persistent: true });
    assert.equal(bmcs.get(PORT).power, "off");
    assert.equal(state.outs.observedPower, "off");
    assert.equal(state.outs.observedBootDevice, "disk");
    assert.ok(isSecret((checked.bmc as Props).password), "the password is secret in the inputs");
    assert.deepEqual(
      Object.keys(state.outs).filter((k) => k in checked),
      [],
      "outputs do not repeat inputs (the engine stores the inputs once)",
    );
    assert.equal(state.outs.bmc, undefined, "no second copy of the BMC credential");
  });

  it("Read reports a boot device changed by hand, and the next Diff asks for an in-place update", async () => {
    bmcs.set(PORT, { ...bmcs.get(PORT), boot: { device: "pxe", persistent: false } });
    const r = await plugin.read(state.id, URN, state.outs, state.inputs);
    assert.equal(r.props.observedBootDevice, "pxe");
    assert.equal(r.inputs.bootDevice, "pxe");
    assert.ok(isSecret((r.inputs.bmc as Props).password), "Read keeps the password secret");
    const news = (await plugin.check(URN, {}, inputs())).inputs;
    const d = await plugin.diff(state.id, URN, r.props, news, r.inputs);
    assert.deepEqual(d, { changes: true, replaces: [], diffs: ["bootDevice"], deleteBeforeReplace: true });
    const outs = await plugin.update(state.id, URN, r.props, news, r.inputs);
    assert.equal(outs.observedBootDevice, "disk");
    assert.deepEqual(bmcs.get(PORT).boot, { device: "disk", persistent: true });
    state = { id: state.id, inputs: news, outs };
  });

  it("Read reports a server powered on by hand", async () => {
    bmcs.set(PORT, { ...bmcs.get(PORT), power: "on" });
    const r = await plugin.read(state.id, URN, state.outs, state.inputs);
    assert.equal(r.props.observedPower, "on");
    assert.equal(r.inputs.power, "on");
  });

  it("a new MAC is an in-place update, not a replacement that would power the server off", async () => {
    const news = (await plugin.check(URN, {}, inputs({ macs: ["52:54:00:01:01:99", "52:54:00:01:01:98"] })))
      .inputs;
    const d = await plugin.diff(state.id, URN, state.outs, news, state.inputs);
    assert.deepEqual(d, { changes: true, replaces: [], diffs: ["macs"], deleteBeforeReplace: true });
    const outs = await plugin.update(state.id, URN, state.outs, news, state.inputs);
    assert.equal(outs.observedPower, "off");
    const back = (await plugin.check(URN, {}, inputs())).inputs;
    const d2 = await plugin.diff(state.id, URN, outs, back, news);
    assert.deepEqual(d2.diffs, ["macs"], "the old inputs the engine sends are what Diff compares");
    state = { id: state.id, inputs: back, outs: await plugin.update(state.id, URN, outs, back, news) };
  });

  it("a new serverId (another identity) is still a replacement, deleting first", async () => {
    const news = (await plugin.check(URN, {}, inputs({ serverId: "dc1-s02" }))).inputs;
    const d = await plugin.diff(state.id, URN, state.outs, news, state.inputs);
    assert.deepEqual(d, {
      changes: true,
      replaces: ["serverId"],
      diffs: ["serverId"],
      deleteBeforeReplace: true,
    });
  });

  it("Diff reports no change when the program and what exists agree", async () => {
    const news = (await plugin.check(URN, {}, inputs())).inputs;
    const d = await plugin.diff(state.id, URN, state.outs, news, state.inputs);
    assert.equal(d.changes, false);
  });

  it("an upgrade naming the same root by SHA-256 instead of by PEM is no change; another root is", async () => {
    const root = createRootCa({ commonName: "upgrade test root" }).certificatePem;
    const { rootCertificatePem: _pem, ...rest } = state.inputs;
    const olds = { ...rest, rootCertificatePem: root };
    const same = { ...rest, rootCertificateSha256: certificateSha256(root) };
    assert.equal((await plugin.diff(state.id, URN, state.outs, same, olds)).changes, false);
    const other = { ...rest, rootCertificateSha256: "0".repeat(64) };
    const d = await plugin.diff(state.id, URN, state.outs, other, olds);
    assert.equal(d.changes, true);
    assert.ok(d.diffs.includes("rootCertificateSha256"));
  });

  it("Read with a wrong BMC password fails naming the server and the cause, never the password", async () => {
    const wrong = {
      ...state.inputs,
      bmc: { ...(state.inputs.bmc as Props), password: secret("not-the-pass") },
    };
    const err = await plugin.read(state.id, URN, state.outs, wrong).then(
      () => assert.fail("Read succeeded with a wrong password"),
      (e: Error) => e,
    );
    assert.match(err.message, /dc1-s01/);
    assert.match(err.message, /auth|password|HMAC/i);
    assert.ok(!err.message.includes("not-the-pass"));
  });

  it("refuses an import whose id does not name the BMC, or without a BMC login in the environment", async () => {
    await assert.rejects(plugin.read("dc1-s01", URN, {}), /give <serverId>@<bmc address>\[:<port>\]/);
    await assert.rejects(
      plugin.read(`dc1-s01@127.0.0.1:${PORT}`, URN, {}),
      /set ZEROROOT_IMPORT_BMC_USERNAME and ZEROROOT_IMPORT_BMC_PASSWORD/,
    );
  });

  it("imports by id alone (`<serverId>@<bmc>:<port>`): Configure, then Read asks the BMC; the login stays secret", async () => {
    const importer = await PluginHost.start({
      env: {
        ...process.env,
        PATH: bmcs.path(),
        ZEROROOT_IMPORT_BMC_USERNAME: "admin",
        ZEROROOT_IMPORT_BMC_PASSWORD: "bmc-pass-1",
      },
    });
    try {
      await importer.configure({});
      bmcs.set(PORT, { ...bmcs.get(PORT), power: "on", boot: { device: "disk", persistent: true } });
      const r = await importer.read(`dc1-s01@127.0.0.1:${PORT}`, URN, {}, {});
      assert.equal(r.id, "dc1-s01", "the id becomes the server id, as a create would make it");
      assert.equal(r.props.observedPower, "on");
      assert.equal(r.inputs.serverId, "dc1-s01");
      assert.equal(r.inputs.power, "on");
      assert.equal(r.inputs.bootDevice, "disk");
      const bmc = r.inputs.bmc as Props;
      assert.deepEqual([bmc.address, bmc.port, bmc.username], ["127.0.0.1", PORT, "admin"]);
      assert.ok(isSecret(bmc.password), "the imported password is secret in state");
      assert.ok(!JSON.stringify(r.props).includes("bmc-pass-1"), "and not in the outputs");
      // A wrong login is the BMC's refusal, named, without the password.
      const wrong = await PluginHost.start({
        env: {
          ...process.env,
          PATH: bmcs.path(),
          ZEROROOT_IMPORT_BMC_USERNAME: "admin",
          ZEROROOT_IMPORT_BMC_PASSWORD: "not-the-pass",
        },
      });
      try {
        const err = await wrong.read(`dc1-s01@127.0.0.1:${PORT}`, URN, {}, {}).then(
          () => assert.fail("imported with a wrong password"),
          (e: Error) => e,
        );
        assert.ok(!err.message.includes("not-the-pass"));
      } finally {
        await wrong.close();
      }
    } finally {
      await importer.close();
    }
  });

  it("Delete powers the server off through the BMC", async () => {
    bmcs.set(PORT, { ...bmcs.get(PORT), power: "on" });
    // Without the old inputs (an engine that does not send them) the BMC is unknown: said, not a TypeError.
    await assert.rejects(plugin.delete(state.id, URN, state.outs), /no BMC inputs reached the plugin/);
    assert.equal(bmcs.get(PORT).power, "on");
    await plugin.delete(state.id, URN, state.outs, state.inputs);
    assert.equal(bmcs.get(PORT).power, "off");
    assert.equal(bmcs.commands(PORT).filter((c) => c === "chassis power off").length >= 1, true);
  });
});
