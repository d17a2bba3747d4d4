import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import {
  defaultNetPlan,
  labNetDown,
  labNetStatus,
  labNetUp,
  listNamespaces,
  netNames,
} from "../../../lab/net";

const run = promisify(execFile);
const PREFIX = `zr-t${process.pid}-`;
const plan = defaultNetPlan({ dataCenters: 2, serversPerDc: 2, prefix: PREFIX });
const names = netNames(plan);

async function reaches(ns: string, address: string): Promise<boolean> {
  try {
    await run("ip", ["netns", "exec", ns, "ping", "-c", "1", "-W", "1", address]);
    return true;
  } catch {
    return false;
  }
}

describe("lab network (root)", function () {
  before(function () {
    if (process.getuid?.() !== 0) this.skip();
  });

  after(async () => {
    if (process.getuid?.() === 0) await labNetDown(PREFIX);
  });

  it("creates the fabric, and per data center a management, a BMC and one namespace per server", async () => {
    const r = await labNetUp(plan);
    assert.equal(r.namespaces.length, 1 + 2 * (2 + 2));
    const status = await labNetStatus(plan);
    assert.deepEqual(status.missing, []);
    assert.deepEqual(status.extra, []);
  });

  it("is idempotent: a second up succeeds and changes nothing", async () => {
    const before = (await listNamespaces()).filter((n) => n.startsWith(PREFIX)).sort();
    await labNetUp(plan);
    const after = (await listNamespaces()).filter((n) => n.startsWith(PREFIX)).sort();
    assert.deepEqual(after, before);
  });

  it("routes data networks between data centers (storage replication)", async () => {
    const [dc1, dc2] = plan.dataCenters;
    assert.ok(await reaches(names.dcs[0].servers[0].ns, dc2.servers[0].dataAddress));
    assert.ok(await reaches(names.dcs[0].servers[0].ns, dc1.servers[1].dataAddress));
    assert.ok(await reaches(names.dcs[0].mgmtNs, dc2.managementServer.dataAddress));
  });

  it("gives the management server its own DC's BMC network and the servers its data network", async () => {
    const dc1 = plan.dataCenters[0];
    assert.ok(await reaches(names.dcs[0].mgmtNs, dc1.servers[0].bmcAddress));
    assert.ok(await reaches(names.dcs[0].servers[0].ns, dc1.managementServer.dataAddress));
  });

  it("keeps a management network unreachable from servers and from other data centers", async () => {
    const bmc = plan.dataCenters[0].servers[0].bmcAddress;
    assert.equal(await reaches(names.dcs[0].servers[0].ns, bmc), false, "own DC's server");
    assert.equal(await reaches(names.dcs[1].mgmtNs, bmc), false, "other DC's management server");
    assert.equal(await reaches(names.dcs[1].servers[0].ns, bmc), false, "other DC's server");
    assert.equal(
      await reaches(names.dcs[0].bmcNs, plan.dataCenters[0].servers[0].dataAddress),
      false,
      "BMCs off the data network",
    );
  });

  it("down stops processes inside the namespaces and leaves no namespace, veth or bridge", async () => {
    const child = spawn("ip", ["netns", "exec", names.dcs[0].servers[0].ns, "sleep", "6011"], {
      detached: true,
      stdio: "ignore",
    });
    child.unref();
    await new Promise((r) => setTimeout(r, 200));
    const r = await labNetDown(plan);
    assert.deepEqual(r.remaining, []);
    assert.ok(r.removed.includes(names.fabricNs));
    const { stdout: nsList } = await run("ip", ["netns", "list"]);
    assert.ok(!nsList.includes(PREFIX), nsList);
    const { stdout: links } = await run("ip", ["-o", "link", "show"]);
    for (const l of ["bm1", "bd1", "m1m", "m1d", "b1", "s1x1"])
      assert.ok(!new RegExp(`^\\d+: ${l}[@:]`, "m").test(links), `link ${l} left in the host`);
    const { stdout: ps } = await run("ps", ["-eo", "args"]);
    assert.ok(
      !ps.split("\n").some((l) => l.trim() === "sleep 6011"),
      "process in a server namespace survived down",
    );
  });
});
