import { strict as assert } from "node:assert";
import {
  renderEmuCmd,
  renderHookConf,
  renderLanConf,
  resolveBmcSimSpec,
  procNetUdpKey,
} from "../../../lab/bmc";
import { allNamespaces, defaultNetPlan, netNames, validateNetPlan } from "../../../lab/net";

const SPEC = {
  serverId: "dc1-s1",
  address: "10.77.1.11",
  username: "admin",
  password: "pw-Secret1",
  stateDir: "/var/lib/zr-lab/bmc/dc1-s1",
  bootCommand: ["/opt/lab/server", "boot", "it's dc1-s1"],
  haltCommand: ["/opt/lab/server", "halt", "dc1-s1"],
};

describe("lab BMC simulator configuration", () => {
  it("renders lan.conf with the BMC address, the VM serial interface and the chassis_control hook", () => {
    const conf = renderLanConf(resolveBmcSimSpec(SPEC), "/x/hook.sh");
    assert.match(conf, /^\s*addr 10\.77\.1\.11 623$/m);
    assert.match(conf, /^\s*serial 15 10\.77\.1\.11 9002 codec VM$/m);
    assert.match(
      conf,
      /^\s*chassis_control "\/bin\/sh \/x\/hook\.sh \/var\/lib\/zr-lab\/bmc\/dc1-s1 0x20"$/m,
    );
    assert.match(conf, /^\s*user 2 true "admin" "pw-Secret1" admin 10 md5$/m);
    assert.doesNotMatch(conf, /^\s*user 1 /m, "no anonymous user");
  });

  it("renders emu.cmd that enables the MC (without it ipmi_sim opens no socket)", () => {
    assert.deepEqual(renderEmuCmd().trim().split("\n")[0], "mc_setbmc 0x20");
    assert.match(renderEmuCmd(), /^mc_enable 0x20$/m);
  });

  it("quotes the boot and halt commands once, as shell functions taking the device", () => {
    const conf = renderHookConf(resolveBmcSimSpec(SPEC));
    assert.match(conf, /^boot_cmd\(\) \{ '\/opt\/lab\/server' 'boot' 'it'\\''s dc1-s1' "\$@"; \}$/m);
    assert.match(conf, /^halt_cmd\(\) \{ '\/opt\/lab\/server' 'halt' 'dc1-s1' "\$@"; \}$/m);
  });

  it("refuses a password lan.conf cannot hold, without showing it", () => {
    assert.throws(
      () => resolveBmcSimSpec({ ...SPEC, password: 'pw"x' }),
      (e: unknown) => e instanceof Error && /dc1-s1/.test(e.message) && !e.message.includes('pw"x'),
    );
  });

  it("refuses a relative state directory and an empty boot command", () => {
    assert.throws(() => resolveBmcSimSpec({ ...SPEC, stateDir: "state" }), /stateDir/);
    assert.throws(() => resolveBmcSimSpec({ ...SPEC, bootCommand: [] }), /bootCommand/);
  });

  it("computes the /proc/net/udp key of an address and port", () => {
    assert.equal(procNetUdpKey("127.0.0.1", 623), "0100007F:026F");
    assert.equal(procNetUdpKey("10.77.1.11", 6230), "0B014D0A:1856");
  });
});

describe("lab network plan", () => {
  it("names every namespace with the prefix and keeps interface names within 15 characters", () => {
    const plan = defaultNetPlan({ dataCenters: 3, serversPerDc: 3 });
    validateNetPlan(plan);
    assert.ok(allNamespaces(plan).every((n) => n.startsWith("zr-")));
    assert.equal(allNamespaces(plan).length, 1 + 3 * (2 + 3));
    const n = netNames(plan);
    const ifnames = n.dcs.flatMap((d) => [
      d.mgmtBridge,
      d.dataBridge,
      d.mgmtToMgmtBridge,
      d.mgmtToDataBridge,
      d.bmcToMgmtBridge,
      ...d.servers.map((s) => s.fabricVeth),
    ]);
    assert.ok(ifnames.every((i) => i.length <= 15));
    assert.equal(new Set(ifnames).size, ifnames.length);
  });

  it("puts management on 10.77.<dc>.0/24 and data on 10.78.<dc>.0/24", () => {
    const dc2 = defaultNetPlan().dataCenters[1];
    assert.equal(dc2.managementSubnet, "10.77.2.0/24");
    assert.equal(dc2.servers[0].bmcAddress, "10.77.2.11");
    assert.equal(dc2.servers[0].dataAddress, "10.78.2.11");
  });

  it("lists every problem of a bad plan with its path", () => {
    const good = defaultNetPlan({ dataCenters: 1, serversPerDc: 2 });
    const dc = good.dataCenters[0];
    const bad = {
      prefix: "lab-",
      dataCenters: [
        {
          ...dc,
          servers: [
            { ...dc.servers[0], bmcAddress: "10.78.1.11" },
            { ...dc.servers[1], id: dc.servers[0].id },
          ],
        },
      ],
    };
    assert.throws(
      () => validateNetPlan(bad),
      (e: unknown) =>
        e instanceof Error &&
        /prefix "lab-"/.test(e.message) &&
        /dataCenters\[0\]\.servers\[0\]\.bmcAddress "10\.78\.1\.11"/.test(e.message) &&
        /dataCenters\[0\]\.servers\[1\]\.id: id dc1-s1 used twice/.test(e.message),
    );
  });
});
