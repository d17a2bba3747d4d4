/**
 * The "done when": a deployment made from one checkout path continues — refresh, update,
 * replace, delete — after the checkout moved, because state holds values and the plugin is found by
 * path at run time, not code captured with the path it was loaded from. Against ipmi_sim (a real
 * IPMI peer): `read` reports a boot device changed behind Pulumi's back, and delete powers off.
 */
import { strict as assert } from "node:assert";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bmcSimStatus, setSimBootDevice, startBmcSim, stopBmcSim } from "../../../lab/bmc";
import { Deployment } from "../../../lab/orchestrate/deployment";
import { urnOf, type Props } from "../../../provider/host";
import { secret } from "../../../provider/values";
import { IpmitoolBmcClient } from "../../../lib/ipmi";

const REPO = join(__dirname, "../../..");
const BMC = "zeroroot:fleet:BmcServer";
const ROOT = "zeroroot:pki:RootCa";
const bmcUrn = urnOf("dc1", "zeroroot", BMC, "dc1-s01-bmc");
const rootUrn = urnOf("dc1", "zeroroot", ROOT, "root");
const ADDRESS = `127.79.${process.pid % 250}.1`;
const PORT = 21000 + (process.pid % 5000);
const PASSWORD = "Lab-Pw-moved-1";

const server = (): Props => ({
  serverId: "dc1-s01",
  dataCenter: "dc1",
  hostname: "dc1-s01.dc1.zeroroot.example",
  macs: ["52:54:00:01:01:11"],
  bmc: {
    address: ADDRESS,
    port: PORT,
    username: "admin",
    password: secret(PASSWORD),
    cipherSuite: 3,
    ipmiVersion: "2.0",
  },
  bootDevice: "disk",
  power: "off",
  siteUrl: "https://site.dc1.zeroroot.example:8443",
  siteServerName: "site.dc1.zeroroot.example",
  rootCertificatePem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
});

/** A checkout of the plugin and what it runs (lib), with the production node_modules linked. */
function checkoutAt(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const part of ["provider", "lib", "package.json"])
    cpSync(join(REPO, part), join(dir, part), { recursive: true });
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
}

describe("provider plugin from a moved checkout, against ipmi_sim", function () {
  this.timeout(180_000);
  let tmp: string;
  let stateDir: string;
  const crypter = {
    encrypt: (s: string) => Buffer.from(s).toString("base64"),
    decrypt: (s: string) => Buffer.from(s, "base64").toString(),
  };
  const deployment = (checkout: string) =>
    new Deployment({
      statePath: join(tmp, "state", "dc1.json"),
      crypter,
      launcher: join(checkout, "provider", "pulumi-resource-zeroroot"),
    });
  const bmc = () =>
    new IpmitoolBmcClient({
      serverId: "dc1-s01",
      address: ADDRESS,
      port: PORT,
      username: "admin",
      password: PASSWORD,
    });

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "zr-moved-"));
    stateDir = join(tmp, "bmc");
    await startBmcSim({
      serverId: "dc1-s01",
      address: ADDRESS,
      port: PORT,
      serialPort: PORT + 1,
      username: "admin",
      password: PASSWORD,
      stateDir,
      bootCommand: ["/bin/true"],
      initialPower: "on",
      initialBootDevice: "pxe",
    });
  });

  after(async () => {
    if (stateDir) await stopBmcSim(stateDir);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("deploys from checkout A, then refreshes, updates, replaces and deletes from checkout B after A moved there", async () => {
    const a = join(tmp, "a", "zeroroot");
    const b = join(tmp, "b", "zeroroot");
    checkoutAt(a);
    const first = deployment(a);
    try {
      assert.equal((await first.register(bmcUrn, BMC, server())).outcome, "created");
      assert.equal((await first.register(rootUrn, ROOT, { commonName: "moved root" })).outcome, "created");
    } finally {
      await first.close();
    }
    assert.equal(bmcSimStatus(stateDir).power, "off");
    assert.equal(bmcSimStatus(stateDir).persistentBootDevice, "disk");

    mkdirSync(join(tmp, "b"));
    renameSync(a, b);
    const text = readFileSync(join(tmp, "state", "dc1.json"), "utf8");
    assert.ok(!text.includes(a) && !text.includes(REPO), "the state names no checkout path");
    assert.ok(!text.includes(PASSWORD), "the BMC password is not in the state file in clear");

    const second = deployment(b);
    try {
      setSimBootDevice(stateDir, "pxe", { persistent: true });
      const drift = await second.refresh();
      assert.deepEqual(drift[bmcUrn]?.sort(), ["bootDevice", "observedBootDevice"]);
      assert.equal((await second.register(bmcUrn, BMC, server())).outcome, "updated");
      assert.equal(bmcSimStatus(stateDir).persistentBootDevice, "disk");

      const oldRoot = second.recorded(rootUrn)?.id;
      const replaced = await second.register(rootUrn, ROOT, { commonName: "moved root, renamed" });
      assert.equal(replaced.outcome, "replaced");
      assert.notEqual(replaced.id, oldRoot);

      await bmc().setPower("on");
      assert.deepEqual((await second.deleteUnregistered(true)).sort(), [bmcUrn, rootUrn].sort());
      assert.equal(bmcSimStatus(stateDir).power, "off");
      assert.deepEqual(second.urns(), []);
    } finally {
      await second.close();
    }
  });
});
