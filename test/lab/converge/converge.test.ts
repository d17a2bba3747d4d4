/**
 * `lab up` converges from whatever it finds, reading the real state — the BMC's power, PID 1 in
 * the server's namespace, the agent's ready report — and says "done" only when it read it. The
 * test tier runs its own lab (lab id "test"), beside any user's lab, which it never touches.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { IMAGE_PATHS } from "../../../lib/hardening";
import { IpmitoolBmcClient, spawnRunner } from "../../../lib/ipmi";
import { runningSimPid } from "../../../lab/bmc";
import { inNamespace, listNamespaces } from "../../../lab/net";
import { labDown } from "../../../lab/orchestrate/down";
import { currentLabId, labDirOf, labPrefixOf } from "../../../lab/orchestrate/lab-id";
import { mgmtNs, type LabLayout } from "../../../lab/orchestrate/layout";
import { labUp, NotConvergedError } from "../../../lab/orchestrate/up";
import { serverPaths, serverStatus } from "../../../lab/server";
import { startDecoy, userLab, type Decoy, type Footprint } from "./footprint";
import { labBmcLogin } from "../../../lab/bmc/login";

describe("lab up converges from what it reads (lab)", function () {
  this.timeout(40 * 60_000);
  let lab: LabLayout;
  let said: string[] = [];
  let decoy: Decoy;
  let othersBefore: Footprint;
  const prefix = labPrefixOf(currentLabId());
  const up = async (serversPerDc?: number) => {
    said = [];
    return labUp({ serversPerDc, log: (m) => void said.push(m) });
  };
  const upOrExplain = async (serversPerDc?: number) => {
    try {
      lab = await up(serversPerDc);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlab up said (last 30 lines):\n${said.slice(-30).join("\n")}`);
    }
  };
  const bmcOf = (id: string) => {
    const dc = lab.plan.dataCenters.find((d) => d.servers.some((s) => s.id === id))!;
    return new IpmitoolBmcClient(
      {
        serverId: id,
        address: dc.servers.find((s) => s.id === id)!.bmcAddress,
        ...labBmcLogin(lab, id),
        cipherSuite: 3,
      },
      { runner: spawnRunner(inNamespace(mgmtNs(dc.id))) },
    );
  };
  const ready = (id: string) => {
    const st = serverStatus(id, { labDir: lab.dir });
    return st.running && st.device === "disk" && st.ready;
  };

  before(async () => {
    assert.notEqual(currentLabId(), "", "the lab tier never runs as the user's lab");
    decoy = await startDecoy();
    othersBefore = userLab(decoy);
    assert.ok(othersBefore.namespaces.includes(decoy.namespace) && othersBefore.bmcs.length > 0);
    await upOrExplain(1);
  });
  after(async () => {
    await labDown({ log: () => undefined });
    const othersAfter = userLab(decoy);
    await decoy.remove();
    assert.deepEqual(
      othersAfter,
      othersBefore,
      "the test lab's up and down left the user's lab (and the decoy) as they were",
    );
  });

  it("runs its own lab: its folder, namespaces and addresses are not a user lab's", async () => {
    assert.equal(lab.dir, labDirOf(currentLabId()));
    assert.notEqual(lab.dir, labDirOf(""), "not the user's folder");
    const ours = (await listNamespaces()).filter((n) => n.startsWith(prefix)).sort();
    assert.deepEqual(ours, [
      `${prefix}dc1-bmc`,
      `${prefix}dc1-mgmt`,
      `${prefix}dc1-s1`,
      `${prefix}dc2-bmc`,
      `${prefix}dc2-mgmt`,
      `${prefix}dc2-s1`,
      `${prefix}dc3-bmc`,
      `${prefix}dc3-mgmt`,
      `${prefix}dc3-s1`,
      `${prefix}fabric`,
    ]);
    for (const d of lab.plan.dataCenters) assert.doesNotMatch(d.dataSubnet, /^10\.7[78]\./);
    assert.ok((await listNamespaces()).includes(decoy.namespace), "the user-lab decoy is still there");
    assert.match(said.join("\n"), /3 servers read as running and ready/);
  });

  it("restarts a server whose PID 1 was killed, and says what it saw", async () => {
    const id = "dc1-s1";
    const st = serverStatus(id, { labDir: lab.dir });
    assert.ok(st.running && st.pid);
    process.kill(st.pid, "SIGKILL");
    for (let i = 0; i < 50 && serverStatus(id, { labDir: lab.dir }).running; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(serverStatus(id, { labDir: lab.dir }).running, false, "PID 1 is dead");
    assert.equal(await bmcOf(id).getPower(), "on", "its BMC still believes it is on");
    await upOrExplain();
    assert.match(said.join("\n"), /dc1-s1: restart: its BMC reports power on but its PID 1 is not running/);
    assert.ok(ready(id), "running from disk with its services started again");
    assert.notEqual(serverStatus(id, { labDir: lab.dir }).pid, st.pid);
  });

  it("powers on a server powered off through its BMC", async () => {
    const id = "dc2-s1";
    await bmcOf(id).setPower("off");
    assert.equal(serverStatus(id, { labDir: lab.dir }).running, false);
    await upOrExplain();
    assert.match(said.join("\n"), /dc2-s1: power-on: its BMC reports power off/);
    assert.equal(await bmcOf(id).getPower(), "on");
    assert.ok(ready(id));
  });

  it("exits naming a server whose netboot keeps failing, then reinstalls it once it can", async () => {
    const id = "dc3-s1";
    const disk = serverPaths(id, lab.dir).disk;
    // An empty disk that cannot be written (immutable: even root's installer cannot unpack onto it):
    // lab up must netboot it, and the install fails every time. (Tampering with the served image no
    // longer reaches the netboot: the stack's HardenedImage refuses an altered archive at deploy.)
    await bmcOf(id).setPower("off");
    rmSync(`${disk}${IMAGE_PATHS.init}`, { force: true });
    execFileSync("chattr", ["+i", disk]);
    try {
      await assert.rejects(up(), (err: unknown) => {
        assert.ok(err instanceof NotConvergedError, String(err));
        assert.match(err.message, /1 of 3 server\(s\) did not converge/);
        assert.match(err.message, /dc3-s1: gave up: .*installer exited 1/);
        assert.match(err.message, /saw: BMC power on; PID 1 running from pxe.*installer exit 1/);
        assert.doesNotMatch(err.message, /dc[12]-s1:/);
        return true;
      });
      assert.doesNotMatch(said.join("\n"), /every data center deployed/);
      // Each failed netboot is reported and tried again after a pause that grows (5 s, 10 s, 20 s).
      for (const pause of [5, 10, 20])
        assert.match(
          said.join("\n"),
          new RegExp(`dc3-s1: netboot failed \\(.*\\); netbooting again in ${pause} s`),
        );
    } finally {
      execFileSync("chattr", ["-i", disk]);
    }
    await upOrExplain();
    assert.match(said.join("\n"), /dc3-s1: reinstall: /);
    assert.ok(ready(id), "installed again and running from disk");
  });

  it("grows to 2 servers per data center and shrinks back to 1, decommissioning the extra ones", async () => {
    const kept = serverStatus("dc1-s1", { labDir: lab.dir }).bootedAt;
    await upOrExplain(2);
    assert.match(said.join("\n"), /6 servers read as running and ready/);
    for (const d of lab.plan.dataCenters) assert.ok(ready(`${d.id}-s2`), `${d.id}-s2 runs`);

    await upOrExplain(1);
    assert.match(
      said.join("\n"),
      /decommissioning 3 server\(s\) the lab no longer has: dc1-s2, dc2-s2, dc3-s2/,
    );
    const namespaces = await listNamespaces();
    for (const d of ["dc1", "dc2", "dc3"]) {
      const id = `${d}-s2`;
      assert.ok(!namespaces.includes(`${prefix}${id}`), `${id}'s namespace is gone`);
      assert.equal(runningSimPid(join(lab.paths.bmc, id)), undefined, `${id}'s BMC is stopped`);
      assert.equal(serverStatus(id, { labDir: lab.dir }).running, false, `${id}'s PID 1 is gone`);
      assert.ok(existsSync(serverPaths(id, lab.dir).disk), `${id}'s disk is kept`);
      assert.ok(ready(`${d}-s1`));
    }
    assert.equal(
      serverStatus("dc1-s1", { labDir: lab.dir }).bootedAt,
      kept,
      "the kept servers were not rebooted",
    );
  });
});
