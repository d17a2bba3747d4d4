/**
 * MariaDB/Galera in the lab (root), after one `lab up`: one member per data center, started by the
 * agent from the signed release as partition users, replicating over TLS, encrypted at rest, reached
 * only with user certificates. The mariadb client reads and writes with alice's certificate; every
 * other way in is refused (the matrix is printed); no member's disk holds a known row in clear; and
 * the InnoDB key and the service keys appear nowhere but in their own files (a canary scan).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { createPrivateKey, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { revokeInCeremony } from "../../../lib/pki";
import type { LabLayout } from "../../../lab/orchestrate/layout";
import { ensureLabCrls } from "../../../lab/orchestrate/pki";
import { labStatus } from "../../../lab/orchestrate/status";
import { serverPaths, serverProcesses } from "../../../lab/server";
import {
  labGalera,
  labWithGalera,
  mariadb,
  synced,
  until,
  type ClientResult,
  type LabGaleraMember,
} from "./galera-fixture";
import { issue, issueExpired, issueForeign, type ClientCert } from "./postgres-fixture";
import { controlPlaneValues, processCommandLines, secretsFoundIn } from "../secret-scan";

const ALICE = "dc1/user/alice";

describe("MariaDB/Galera with certificates only (lab)", function () {
  this.timeout(40 * 60_000);
  let lab: LabLayout;
  let dir: string;
  let members: LabGaleraMember[];
  let alice: ClientCert;
  let bob: ClientCert;
  let dave: ClientCert;

  before(async () => {
    lab = await labWithGalera((m) => process.stderr.write(`      [lab] ${m}\n`));
    members = await labGalera(lab);
    dir = mkdtempSync(join(tmpdir(), "zr-galera-clients-"));
    alice = issue(lab, dir, "alice");
    bob = issue(lab, dir, "bob", { dc: "dc2" });
    dave = issue(lab, dir, "dave", { dc: "dc3" });
    const s = await until("every member Synced in a cluster of 3", 600_000, () =>
      members.every((m) => synced(m)),
    );
    process.stderr.write(`      Galera: 3 members Synced (${s.toFixed(0)} s after lab up returned)\n`);
    // each member's access program applies the grants once it is Synced
    await until("alice accepted by every member", 180_000, () =>
      members.every((m) => mariadb(lab, m, { user: ALICE, cert: alice, sql: "SELECT 1" }).ok),
    );
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("runs one member per data center as a partition user, each Synced in a cluster of 3, in lab status", async () => {
    assert.deepEqual(
      members.map((m) => m.dc),
      ["dc1", "dc2", "dc3"],
    );
    for (const m of members) {
      const procs = serverProcesses(m.serverId, { labDir: lab.dir }).filter((p) =>
        /^\/usr\/sbin\/mariadbd --defaults-file=/.test(p.cmdline),
      );
      assert.equal(procs.length, 1, `${m.serverId}: one mariadbd`);
      assert.ok(
        procs[0].uids.every((u) => u >= 2100),
        `${m.serverId}: mariadbd uids ${procs[0].uids.join(",")}`,
      );
    }
    const status = await labStatus(lab);
    const galera = status.datastores.filter((d) => d.engine === "galera");
    assert.equal(galera.length, 3, JSON.stringify(status.datastores));
    for (const g of galera) assert.deepEqual([g.state, g.clusterSize], ["Synced", 3], JSON.stringify(g));
  });

  it("lets alice write on one member with her certificate and read it back on the others", () => {
    const value = `row-${randomBytes(6).toString("hex")}`;
    const w = mariadb(lab, members[0], {
      user: ALICE,
      cert: alice,
      sql: `CREATE TABLE IF NOT EXISTS shop.items (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT); INSERT INTO shop.items (name) VALUES ('${value}'); SELECT CURRENT_USER()`,
    });
    assert.ok(w.ok, w.err);
    assert.match(w.out, /dc1\/user\/alice@%/);
    for (const m of members.slice(1)) {
      const r = mariadb(lab, m, {
        user: ALICE,
        cert: alice,
        sql: `SELECT name FROM shop.items WHERE name='${value}'`,
      });
      assert.ok(r.ok, r.err);
      assert.equal(r.out, value, `${m.dc} reads the row written in dc1`);
    }
    const b = mariadb(lab, members[1], {
      user: "dc2/user/bob",
      cert: bob,
      sql: `SELECT COUNT(*) FROM shop.items`,
    });
    assert.ok(b.ok, `bob reads shop: ${b.err}`);
  });

  it("refuses every other way in, on every member (matrix printed)", async () => {
    const foreign = issueForeign(dir, "alice");
    const expired = issueExpired(lab, dir, "alice");
    const software = issue(lab, dir, "alice", { kind: "software", file: "alice-software" });
    const aliceOfDc2 = issue(lab, dir, "alice", { dc: "dc2", file: "alice-dc2" });
    const revoked = issue(lab, dir, "alice", { file: "alice-revoked" });
    revokeInCeremony(lab.paths.pki, revoked.serial!, "keyCompromise");
    ensureLabCrls(lab);
    // The agents take the sites' CRLs every 10 minutes; restarting them takes them now.
    for (const m of members)
      for (const p of serverProcesses(m.serverId, { labDir: lab.dir }).filter((x) =>
        /agent\.js/.test(x.cmdline),
      ))
        process.kill(p.hostPid, "SIGTERM");
    await until("the revoked certificate refused everywhere", 300_000, () =>
      members.every((m) => !mariadb(lab, m, { user: ALICE, cert: revoked, sql: "SELECT 1" }).ok),
    );
    const cases: [string, (m: LabGaleraMember) => ClientResult][] = [
      ["no certificate", (m) => mariadb(lab, m, { user: ALICE, sql: "SELECT 1" })],
      ["no TLS at all", (m) => mariadb(lab, m, { user: ALICE, sql: "SELECT 1", noTls: true })],
      ["foreign CA", (m) => mariadb(lab, m, { user: ALICE, cert: foreign, sql: "SELECT 1" })],
      ["expired", (m) => mariadb(lab, m, { user: ALICE, cert: expired, sql: "SELECT 1" })],
      ["revoked", (m) => mariadb(lab, m, { user: ALICE, cert: revoked, sql: "SELECT 1" })],
      [
        "no clientAuth (codeSigning)",
        (m) => mariadb(lab, m, { user: ALICE, cert: software, sql: "SELECT 1" }),
      ],
      ["dc2's alice as dc1's", (m) => mariadb(lab, m, { user: ALICE, cert: aliceOfDc2, sql: "SELECT 1" })],
      ["bob as alice", (m) => mariadb(lab, m, { user: ALICE, cert: bob, sql: "SELECT 1" })],
      [
        "dave reads shop (no grant)",
        (m) => mariadb(lab, m, { user: "dc3/user/dave", cert: dave, sql: "SELECT * FROM shop.items" }),
      ],
      [
        "bob writes shop (read only)",
        (m) =>
          mariadb(lab, m, {
            user: "dc2/user/bob",
            cert: bob,
            sql: "INSERT INTO shop.items (name) VALUES ('bob')",
          }),
      ],
      [
        "password, no certificate",
        (m) => mariadb(lab, m, { user: ALICE, password: "hunter2-guess", sql: "SELECT 1" }),
      ],
      [
        "password and alice's certificate",
        (m) => mariadb(lab, m, { user: ALICE, cert: alice, password: "hunter2-guess", sql: "SELECT 1" }),
      ],
    ];
    const rows = cases.map(([name, attempt]) => ({ name, results: members.map((m) => attempt(m)) }));
    const w = Math.max(...rows.map((r) => r.name.length));
    process.stderr.write(`      refusal matrix (${members.map((m) => m.dc).join(" / ")}):\n`);
    for (const r of rows)
      process.stderr.write(
        `        ${r.name.padEnd(w)}  ${r.results.map((x) => (x.ok ? "ACCEPTED" : "refused")).join("  ")}  ${(r.results[0].err.split("\n").pop() ?? "").slice(0, 90)}\n`,
      );
    for (const r of rows)
      r.results.forEach((x, i) => assert.ok(!x.ok, `${r.name} accepted by ${members[i].dc}: ${x.out}`));
    // the same members still serve alice: the refusals are about the credentials, not a dead server
    for (const m of members) assert.ok(mariadb(lab, m, { user: ALICE, cert: alice, sql: "SELECT 1" }).ok);
  });

  it("keeps no known row in clear on any member's disk", () => {
    const canary = `zr-plaintext-canary-${randomBytes(8).toString("hex")}`;
    const w = mariadb(lab, members[0], {
      user: ALICE,
      cert: alice,
      sql: `CREATE TABLE IF NOT EXISTS shop.secret_rows (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT); INSERT INTO shop.secret_rows (v) VALUES ('${canary}')`,
    });
    assert.ok(w.ok, w.err);
    for (const m of members) {
      const r = mariadb(lab, m, {
        user: ALICE,
        cert: alice,
        sql: `SELECT COUNT(*) FROM shop.secret_rows WHERE v='${canary}'`,
      });
      assert.equal(r.out, "1", `${m.dc} holds the row`);
      const disk = serverPaths(m.serverId, lab.dir).disk;
      const g = spawnSync("grep", ["-rlaF", "--", canary, disk], { encoding: "utf8" });
      assert.equal(g.status, 1, `${m.dc}: the row in clear in ${g.stdout}`);
      process.stderr.write(`      ${m.dc}: row readable through SQL, absent in clear from ${disk}\n`);
    }
  });

  it("leaves the InnoDB key and the service keys in no log, process list, control-plane key or lab file", async () => {
    const secrets = new Map<string, string>();
    for (const m of members) {
      const key = readFileSync(join(m.disk.instanceDir, "data/zr-keys/innodb.key"), "utf8")
        .trim()
        .split(";")[1];
      assert.match(key, /^[0-9a-f]{64}$/);
      secrets.set(`InnoDB key (${m.dc})`, key);
      // the private scalar of the service key, as a PEM (base64) or a dump (hex) would show it
      const d = Buffer.from(
        createPrivateKey(readFileSync(join(m.disk.instanceDir, "tls/key.pem"))).export({ format: "jwk" }).d!,
        "base64url",
      );
      assert.equal(d.length, 32);
      // bytes 0-11 of the scalar are base64 characters 48-63 of the PEM, on its first line
      secrets.set(`service key (${m.dc}, base64)`, d.subarray(0, 12).toString("base64"));
      secrets.set(`service key (${m.dc}, hex)`, d.toString("hex"));
    }
    const patterns = join(dir, "canaries");
    writeFileSync(patterns, [...new Set(secrets.values())].join("\n") + "\n");
    const own = new Set(
      members.flatMap((m) => [
        join(m.disk.instanceDir, "data/zr-keys/innodb.key"),
        join(m.disk.instanceDir, "tls/key.pem"),
      ]),
    );
    // every file of the lab: the servers' disks (logs, agent state), the stacks and their deployment
    // state, the control plane's etcd data, the sites, the lab's logs
    const g = spawnSync("grep", ["-rlaF", "--exclude-dir=images", "-f", patterns, lab.dir], {
      encoding: "utf8",
      maxBuffer: 1 << 26,
    });
    const hits = g.stdout.split("\n").filter((f) => f && !own.has(f));
    const cmdlines = processCommandLines();
    const inProcs = secretsFoundIn(secrets, cmdlines);
    const values = await controlPlaneValues(lab);
    const inEtcd = secretsFoundIn(secrets, values);
    process.stderr.write(
      `      canary scan of ${secrets.size} secrets: ${hits.length} lab file(s) outside their own, ${inProcs.length} of ${cmdlines.length} process command lines, ${inEtcd.length} of ${values.length} control-plane values\n`,
    );
    assert.ok(g.status === 0 || g.status === 1, g.stderr);
    assert.ok(values.length > 0, "the control plane holds keys");
    assert.deepEqual(hits, []);
    assert.deepEqual(inProcs, []);
    assert.deepEqual(inEtcd, []);
    // the scanner finds what it looks for: the key files themselves matched
    assert.equal(g.stdout.split("\n").filter((f) => own.has(f)).length, own.size);
  });
});
