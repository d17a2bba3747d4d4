/**
 * Every Galera member loses power at once (lab, root), on the lab the previous storage file left up:
 * a client writes through dc1's member and logs each acknowledged write; the three storage servers
 * are powered off together through their BMCs, then on again. Nobody intervenes: each member's
 * start program publishes its last committed position to the others over mutual TLS, the one with
 * the newest state bootstraps and the others join (docs/datastores.md, "Recovery"). Then all three
 * must be Synced in one primary component with every acknowledged write, and exactly one member
 * must have bootstrapped.
 */
import { strict as assert } from "node:assert";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { LabLayout } from "../../../lab/orchestrate/layout";
import { serverPaths, serverProcesses } from "../../../lab/server";
import {
  acks,
  adminSql,
  bmcOf as bmcOfIn,
  galeraWriteSetUp,
  mariadb,
  startWriter,
  synced,
  until,
  type LabGaleraMember,
} from "./galera-fixture";
import type { ClientCert } from "./postgres-fixture";

describe("Galera after every member lost power at once (lab)", function () {
  this.timeout(45 * 60_000);
  let lab: LabLayout;
  let dir: string;
  let members: LabGaleraMember[];
  let alice: ClientCert;

  before(async () => ({ lab, dir, members, alice } = await galeraWriteSetUp("zr-galera-recovery-")));
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  const bmcOf = (m: LabGaleraMember) => bmcOfIn(lab, m);
  const startLog = (m: LabGaleraMember) =>
    join(
      serverPaths(m.serverId, lab.dir).disk,
      "var/lib/zeroroot",
      m.disk.partition,
      "supervisor/log/mariadbd.log",
    );
  const logSince = (m: LabGaleraMember, offset: number) => {
    const f = startLog(m);
    return existsSync(f) ? readFileSync(f).subarray(offset).toString("utf8") : "";
  };

  it("comes back by itself: one member bootstraps from the newest position, all three Synced, 0 acknowledged writes lost", async () => {
    const bmcs = members.map(bmcOf);
    const log = join(dir, "acked.log");
    const writer = startWriter(lab, members[0], alice, log);
    let offsets: number[] = [];
    try {
      await until("the writer's first acknowledged writes", 60_000, () => {
        assert.equal(writer.proc.exitCode, null, "the writer exited");
        return acks(log).length >= 50;
      });
      offsets = members.map((m) => (existsSync(startLog(m)) ? statSync(startLog(m)).size : 0));
      await Promise.all(bmcs.map((b) => b.setPower("off")));
      await until("no process left on the three storage servers", 90_000, () =>
        members.every((m) => {
          try {
            return serverProcesses(m.serverId, { labDir: lab.dir }).length === 0;
          } catch {
            return true; // not running at all
          }
        }),
      );
      await writer.stop();
      const acked = acks(log);

      const poweredOn = Date.now();
      await Promise.all(bmcs.map((b) => b.setPower("on")));
      const back = await until("all three Synced in one primary component again", 900_000, () =>
        members.every((m) => synced(m)),
      );
      const starts = members.map((m) => logSince(m, offsets[members.indexOf(m)]));
      const decisions = starts.map((text) =>
        (text.match(/galera-start: (bootstrap|join|found): .*/g) ?? []).map((l) => l.slice(14)),
      );
      process.stderr.write(
        `      ${acked.length} writes acknowledged before the power loss; all three Synced ${back.toFixed(0)} s after power-on (${((Date.now() - poweredOn) / 1000).toFixed(0)} s incl. checks)\n`,
      );
      members.forEach((m, i) =>
        process.stderr.write(`      ${m.dc}: ${decisions[i].join(" | ") || "(no decision logged)"}\n`),
      );

      const bootstraps = decisions.flat().filter((d) => /^(bootstrap|found):/.test(d));
      assert.equal(
        bootstraps.length,
        1,
        `exactly one member starts the cluster: ${JSON.stringify(decisions)}`,
      );
      assert.match(bootstraps[0], /^bootstrap: every position known/);
      const lost = members.map((m) => {
        const have = new Set(adminSql(m, "SELECT id FROM shop.acked;").map((r) => Number(r[0])));
        return { dc: m.dc, rows: have.size, missing: acked.filter((id) => !have.has(id)) };
      });
      for (const l of lost)
        process.stderr.write(`      ${l.dc}: ${l.rows} rows, ${l.missing.length} acknowledged writes lost\n`);
      assert.ok(acked.length >= 50);
      for (const l of lost) assert.deepEqual(l.missing, [], `${l.dc} lost acknowledged writes`);
      const w = mariadb(lab, members[2], {
        user: "dc1/user/alice",
        cert: alice,
        sql: "INSERT INTO shop.acked (id) VALUES (-1); SELECT COUNT(*) FROM shop.acked WHERE id = -1",
      });
      assert.ok(w.ok && w.out === "1", `a write after the recovery: ${w.out} ${w.err}`);
    } finally {
      await writer.stop();
      await Promise.all(bmcs.map((b) => b.setPower("on").catch(() => undefined)));
    }
  });
});
