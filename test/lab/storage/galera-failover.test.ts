/**
 * Losing one data center's Galera member (lab, root): a client writes continuously through dc1's
 * member and logs every write the server acknowledged; dc3's storage server is powered off through
 * its BMC (every process of it stops at once, its tmpfs with it); writes go on with two members;
 * the server is powered on again, its agent starts the member, which rejoins by state transfer; then
 * every acknowledged write must be on all three members. The counts are printed.
 */
import { strict as assert } from "node:assert";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { LabLayout } from "../../../lab/orchestrate/layout";
import { serverPaths, serverProcesses } from "../../../lab/server";
import {
  acks,
  adminSql,
  bmcOf,
  galeraWriteSetUp,
  startWriter,
  synced,
  until,
  type LabGaleraMember,
} from "./galera-fixture";
import type { ClientCert } from "./postgres-fixture";

describe("Galera through the loss of one data center (lab)", function () {
  this.timeout(60 * 60_000);
  let lab: LabLayout;
  let dir: string;
  let members: LabGaleraMember[];
  let alice: ClientCert;

  before(async () => ({ lab, dir, members, alice } = await galeraWriteSetUp("zr-galera-failover-")));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps every acknowledged write on all three members (0 lost) while dc3 goes away and comes back", async () => {
    const [via, , victim] = members;
    const bmc = bmcOf(lab, victim);
    const log = join(dir, "acked.log");
    const writer = startWriter(lab, via, alice, log);
    try {
      await until("the writer's first acknowledged writes", 60_000, () => {
        assert.equal(writer.proc.exitCode, null, "the writer exited");
        return acks(log).length >= 20;
      });

      await bmc.setPower("off");
      await until(`${victim.serverId} has no process left`, 60_000, () => {
        try {
          return serverProcesses(victim.serverId, { labDir: lab.dir }).length === 0;
        } catch {
          return true; // not running at all
        }
      });
      const atLoss = acks(log).length;
      const two = await until("dc1 and dc2 Synced in a cluster of 2", 120_000, () =>
        members.filter((m) => m !== victim).every((m) => synced(m, 2)),
      );
      await new Promise((r) => setTimeout(r, 15_000));
      const duringOutage = acks(log).length - atLoss;

      await bmc.setPower("on");
      const back = await until(`${victim.dc} rejoined, all three Synced`, 900_000, () =>
        members.every((m) => synced(m)),
      );
      await new Promise((r) => setTimeout(r, 5_000));
      await writer.stop();

      const logText = readFileSync(
        join(
          serverPaths(victim.serverId, lab.dir).disk,
          "var/lib/zeroroot",
          victim.disk.partition,
          "supervisor/log/mariadbd.log",
        ),
        "utf8",
      );
      const transfer = /IST received/.test(logText.slice(-200_000))
        ? "IST"
        : /SST received/.test(logText)
          ? "SST"
          : "?";
      const acked = acks(log);
      const lost = members.map((m) => {
        const have = new Set(adminSql(m, "SELECT id FROM shop.acked;").map((r) => Number(r[0])));
        return { dc: m.dc, rows: have.size, missing: acked.filter((id) => !have.has(id)) };
      });
      process.stderr.write(
        `      ${acked.length} writes acknowledged (${duringOutage} while ${victim.dc} was down; two members Synced ${two.toFixed(0)} s after the loss; ${victim.dc} back and Synced ${back.toFixed(0)} s after power-on, by ${transfer})\n`,
      );
      for (const l of lost)
        process.stderr.write(`      ${l.dc}: ${l.rows} rows, ${l.missing.length} acknowledged writes lost\n`);
      assert.ok(duringOutage > 0, "writes went on while dc3 was down");
      for (const l of lost) assert.deepEqual(l.missing, [], `${l.dc} lost acknowledged writes`);
    } finally {
      await writer.stop();
      await bmc.setPower("on").catch(() => undefined);
    }
  });
});
