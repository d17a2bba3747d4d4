import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import {
  bmcSimEvents,
  bmcSimStatus,
  runningSimPid,
  setSimBootDevice,
  startBmcSim,
  stopBmcSim,
} from "../../../lab/bmc";
import { defaultNetPlan, inNamespace, labNetDown, labNetUp, netNames } from "../../../lab/net";
import {
  BmcAuthError,
  BmcUnreachableError,
  BmcUnsupportedCipherError,
  IpmitoolBmcClient,
  acceptsCipherZero,
  spawnRunner,
  type BmcEndpoint,
} from "../../../lib/ipmi";

const run = promisify(execFile);
const PREFIX = `zr-t${process.pid}-`;
const plan = defaultNetPlan({ dataCenters: 2, serversPerDc: 1, prefix: PREFIX });
const names = netNames(plan);
const server = plan.dataCenters[0].servers[0];
const PASSWORD = "Lab-Pw-7f3a9c";
const MARKER = String(60000 + (process.pid % 5000)); // `sleep <MARKER>` stands for the running server

let tmp: string;
let stateDir: string;
let bootsFile: string;
const endpoint: BmcEndpoint = {
  serverId: server.id,
  address: server.bmcAddress,
  port: 623,
  username: "admin",
  password: PASSWORD,
};
const fromMgmt = {
  runner: spawnRunner(inNamespace(names.dcs[0].mgmtNs)),
  wait: { timeoutMs: 20000, intervalMs: 200 },
};
const client = (): IpmitoolBmcClient => new IpmitoolBmcClient(endpoint, fromMgmt);
const boots = (): string[] =>
  fs.existsSync(bootsFile) ? fs.readFileSync(bootsFile, "utf8").split("\n").filter(Boolean) : [];

async function serverProcessRunning(): Promise<boolean> {
  const { stdout } = await run("ps", ["-eo", "args"]);
  return stdout.split("\n").some((l) => l.trim() === `sleep ${MARKER}`);
}

describe("BMC client against ipmi_sim in the lab network (root)", function () {
  before(async function () {
    if (process.getuid?.() !== 0) return this.skip();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "zr-bmc-"));
    stateDir = path.join(tmp, "bmc", server.id);
    bootsFile = path.join(tmp, "boots");
    await labNetUp(plan);
    await startBmcSim({
      serverId: server.id,
      netns: names.dcs[0].bmcNs,
      address: server.bmcAddress,
      username: "admin",
      password: PASSWORD,
      stateDir,
      bootCommand: ["/bin/sh", "-c", `echo "boot $1" >> ${bootsFile}; exec sleep ${MARKER}`, "boot"],
      haltCommand: ["/bin/sh", "-c", `echo halt >> ${bootsFile}`],
    });
  });

  after(async () => {
    if (process.getuid?.() !== 0) return;
    await stopBmcSim(stateDir);
    await labNetDown(PREFIX);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("reads the power state of a server that starts powered off", async () => {
    assert.equal(await client().getPower(), "off");
  });

  it("powers the server on through the hook, which boots it from its persistent device (disk)", async () => {
    await client().setPower("on");
    assert.equal(await client().getPower(), "on");
    assert.deepEqual(boots(), ["boot disk"]);
    assert.ok(await serverProcessRunning());
  });

  it("powers the server off through the hook, which halts it and stops what the boot started", async () => {
    await client().setPower("off");
    assert.equal(bmcSimStatus(stateDir).power, "off");
    assert.equal(boots().at(-1), "halt");
    assert.equal(await serverProcessRunning(), false);
  });

  it("sets PXE for the next boot only: read back as pxe, boots the installer once, then disk again", async () => {
    const c = client();
    await c.setBootDevice("pxe", { persistent: false });
    assert.equal((await c.getBootDevice()).device, "pxe");
    await c.setPower("on");
    assert.equal(boots().at(-1), "boot pxe");
    assert.equal((await c.getBootDevice()).device, "disk");
    await c.cycle();
    assert.equal(await c.getPower(), "on");
    assert.deepEqual(boots().slice(-2), ["halt", "boot disk"]);
  });

  it("sets disk persistently and reads it back; it survives the next cycles", async () => {
    const c = client();
    await c.setBootDevice("disk", { persistent: true });
    assert.equal((await c.getBootDevice()).device, "disk");
    await c.cycle();
    assert.equal(boots().at(-1), "boot disk");
    assert.equal((await c.getBootDevice()).device, "disk");
  });

  it("sets PXE with options=persistent and reads it back (ipmi_sim itself drops the persistent flag)", async () => {
    const c = client();
    await c.setBootDevice("pxe", { persistent: true });
    assert.equal((await c.getBootDevice()).device, "pxe");
    await c.setBootDevice("disk", { persistent: true });
  });

  it("keeps a persistent PXE set through the lab's hook state across boots", async () => {
    setSimBootDevice(stateDir, "pxe", { persistent: true });
    const c = client();
    await c.cycle();
    await c.cycle();
    assert.deepEqual(boots().slice(-3), ["boot pxe", "halt", "boot pxe"]);
    assert.equal((await c.getBootDevice()).device, "pxe");
    await c.setBootDevice("disk", { persistent: true });
    assert.equal(bmcSimStatus(stateDir).persistentBootDevice, "disk");
  });

  it("refuses a wrong password with an authentication error naming the server's BMC, without the password", async () => {
    const wrong = "Wrong-Pw-Q81z";
    const err = await new IpmitoolBmcClient({ ...endpoint, password: wrong }, fromMgmt)
      .getPower()
      .catch((e: unknown) => e);
    assert.ok(err instanceof BmcAuthError, String(err));
    assert.ok(
      err.message.includes(`"${server.id}"`) && err.message.includes(`${server.bmcAddress}:623`),
      err.message,
    );
    assert.match(err.message, /authentication refused/);
    assert.ok(!err.message.includes(wrong) && !err.message.includes(PASSWORD));
  });

  it("detects that the simulator accepts cipher suite 0 with a wrong password", async () => {
    assert.equal(
      await acceptsCipherZero(
        { serverId: server.id, address: server.bmcAddress, username: "admin" },
        fromMgmt,
      ),
      true,
    );
  });

  it("reports cipher suite 17 as unsupported by this BMC", async () => {
    await assert.rejects(
      new IpmitoolBmcClient({ ...endpoint, cipherSuite: 17 }, fromMgmt).getPower(),
      BmcUnsupportedCipherError,
    );
  });

  it("cannot reach the BMC from another data center's management server", async () => {
    const other = {
      ...fromMgmt,
      runner: spawnRunner(inNamespace(names.dcs[1].mgmtNs)),
      retry: { retries: 0 },
    };
    await assert.rejects(new IpmitoolBmcClient(endpoint, other).getPower(), BmcUnreachableError);
  });

  it("never shows the password in the process list while ipmitool runs", async () => {
    let polling = true;
    let sawIpmitool = false;
    const leaks: string[] = [];
    const poller = (async () => {
      while (polling) {
        const { stdout } = await run("ps", ["-eo", "args"]);
        for (const line of stdout.split("\n")) {
          if (line.includes("ipmitool") && line.includes(server.bmcAddress)) sawIpmitool = true;
          if (line.includes(PASSWORD)) leaks.push(line);
        }
      }
    })();
    const c = client();
    for (let i = 0; i < 5; i++) {
      await c.cycle();
      await c.getBootDevice();
    }
    polling = false;
    await poller;
    assert.deepEqual(leaks, []);
    assert.ok(sawIpmitool, "the poller never saw an ipmitool process, so it proved nothing");
  });

  it("stopping the BMC stops ipmi_sim and what its hook started", async () => {
    await client().setPower("on");
    assert.ok(await serverProcessRunning());
    await stopBmcSim(stateDir);
    assert.equal(runningSimPid(stateDir), undefined);
    assert.equal(await serverProcessRunning(), false);
    const { stdout } = await run("ps", ["-eo", "args"]);
    assert.ok(!stdout.includes(stateDir), "a process still refers to the BMC's state directory");
    assert.ok(bmcSimEvents(stateDir).length > 0);
  });
});
