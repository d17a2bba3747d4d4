/**
 * PostgreSQL in the lab (root), after one `lab up`: a primary in dc1 and a streaming replica in dc2,
 * both started by the agent from the signed release as partition users, reached only with
 * certificates. psql and pgjdbc read and write with user certificates; every other way in is
 * refused (the matrix is printed); rows written on the primary appear on the replica.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { revokeInCeremony } from "../../../lib/pki";
import { ensureLabCrls } from "../../../lab/orchestrate/pki";
import type { LabLayout } from "../../../lab/orchestrate/layout";
import { labStatus } from "../../../lab/orchestrate/status";
import { labUp } from "../../../lab/orchestrate/up";
import { serverProcesses } from "../../../lab/server";
import {
  issue,
  issueExpired,
  issueForeign,
  jdbc,
  placements,
  psql,
  type ClientCert,
  type PsqlResult,
} from "./postgres-fixture";

const until = async (what: string, ms: number, probe: () => boolean): Promise<void> => {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
};

describe("PostgreSQL with certificates only (lab)", function () {
  this.timeout(40 * 60_000);
  let lab: LabLayout;
  let dir: string;
  let alice: ClientCert;
  let bob: ClientCert;
  const at = () => placements(lab);

  before(async () => {
    lab = await labUp({ log: (m) => process.stderr.write(`      [lab] ${m}\n`) });
    dir = mkdtempSync(join(tmpdir(), "zr-pg-clients-"));
    alice = issue(lab, dir, "alice");
    bob = issue(lab, dir, "bob", { dc: "dc2" });
    // `lab up` returned with the primary serving and the replica streaming (it waits for the
    // datastores' health); the grants are the access program's, applied on its next round (30 s)
    await until(
      "the primary accepts alice",
      180_000,
      () => psql(lab, at().primary, { user: "alice", db: "analytics", sql: "SELECT 1", cert: alice }).ok,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("runs the primary and the replica as partition users, never root", () => {
    for (const p of [at().primary, at().replica]) {
      const procs = serverProcesses(p.server.id, { labDir: lab.dir }).filter((x) =>
        /postgres -D .*instance\/data/.test(x.cmdline),
      );
      assert.equal(procs.length, 1, `${p.server.id}: one postmaster`);
      assert.ok(
        procs[0].uids.every((u) => u >= 2100),
        `${p.server.id}: postmaster uids ${procs[0].uids.join(",")}`,
      );
    }
  });

  it("psql with alice's user certificate writes and reads on the primary", () => {
    const w = psql(lab, at().primary, {
      user: "alice",
      db: "analytics",
      cert: alice,
      sql: "CREATE TABLE IF NOT EXISTS events (id serial PRIMARY KEY, what text); INSERT INTO events (what) VALUES ('psql') RETURNING what",
    });
    assert.ok(w.ok, w.err);
    assert.match(w.out, /psql/);
    const r = psql(lab, at().primary, {
      user: "alice",
      db: "analytics",
      cert: alice,
      sql: "SELECT count(*) FROM events WHERE what = 'psql'",
    });
    assert.ok(r.ok && Number(r.out) >= 1, r.err);
  });

  it("pgjdbc (Debian's libpostgresql-jdbc-java) writes and reads with alice's PKCS#8 DER key", () => {
    const r = jdbc(
      lab,
      at().primary,
      alice,
      "analytics",
      "INSERT INTO events (what) VALUES ('jdbc') RETURNING what",
    );
    assert.ok(r.ok, r.err);
    assert.equal(r.out, "jdbc");
  });

  it("bob (dc2, read grant) reads analytics but cannot write it", () => {
    const r = psql(lab, at().primary, {
      user: "bob",
      db: "analytics",
      cert: bob,
      sql: "SELECT count(*) FROM events",
    });
    assert.ok(r.ok, r.err);
    const w = psql(lab, at().primary, {
      user: "bob",
      db: "analytics",
      cert: bob,
      sql: "INSERT INTO events (what) VALUES ('bob')",
    });
    assert.ok(!w.ok);
    assert.match(w.err, /permission denied/);
  });

  it("refuses every other way in, and prints the matrix", async () => {
    const p = at().primary;
    const noClientAuth = issue(lab, dir, "alice", { kind: "software", file: "alice-codesigning" });
    const revoked = issue(lab, dir, "alice", { file: "alice-revoked" });
    // the revoked certificate works before its revocation: the refusal below is the CRL's doing
    assert.ok(psql(lab, p, { user: "alice", db: "analytics", cert: revoked, sql: "SELECT 1" }).ok);
    revokeInCeremony(lab.paths.pki, revoked.serial!, "keyCompromise");
    ensureLabCrls(lab);
    const cases: [string, () => PsqlResult, RegExp][] = [
      [
        "no certificate",
        () => psql(lab, p, { user: "alice", db: "analytics", sql: "SELECT 1" }),
        /requires a valid client certificate|certificate/,
      ],
      [
        "a foreign CA's certificate",
        () =>
          psql(lab, p, { user: "alice", db: "analytics", sql: "SELECT 1", cert: issueForeign(dir, "alice") }),
        /unknown ca|certificate verify failed|alert/,
      ],
      [
        "an expired certificate",
        () =>
          psql(lab, p, {
            user: "alice",
            db: "analytics",
            sql: "SELECT 1",
            cert: issueExpired(lab, dir, "alice"),
          }),
        /certificate expired|alert/,
      ],
      [
        "a revoked certificate",
        () => psql(lab, p, { user: "alice", db: "analytics", sql: "SELECT 1", cert: revoked }),
        /revoked/,
      ],
      [
        "a certificate without clientAuth",
        () => psql(lab, p, { user: "alice", db: "analytics", sql: "SELECT 1", cert: noClientAuth }),
        /unsupported certificate purpose|alert/,
      ],
      [
        "another user's certificate (bob as alice)",
        () => psql(lab, p, { user: "alice", db: "analytics", sql: "SELECT 1", cert: bob }),
        /certificate authentication failed/,
      ],
      [
        "bob's certificate on ledger, where he has no grant",
        () => psql(lab, p, { user: "bob", db: "ledger", sql: "SELECT 1", cert: bob }),
        /permission denied for database/,
      ],
      [
        "a password login over TLS",
        () =>
          psql(lab, p, {
            user: "alice",
            db: "analytics",
            sql: "SELECT 1",
            sslmode: "require",
            password: "s3cret-guess",
          }),
        /requires a valid client certificate/,
      ],
      [
        "a password login without TLS",
        () =>
          psql(lab, p, {
            user: "alice",
            db: "analytics",
            sql: "SELECT 1",
            sslmode: "disable",
            password: "s3cret-guess",
          }),
        /no pg_hba\.conf entry/,
      ],
    ];
    // the CRL reaches PostgreSQL through the sites (GET /crls) and the release's access program (30 s)
    await until("the revocation reaches the primary", 150_000, () => !cases[3][1]().ok);
    const rows = cases.map(([what, run, expected]) => {
      const r = run();
      const reason = (r.err.split("\n").find((l) => /FATAL|error|alert/i.test(l)) ?? r.err).replace(
        /^psql: error: /,
        "",
      );
      return { what, refused: !r.ok, expected: expected.test(r.err), reason };
    });
    process.stdout.write(
      `      refusal matrix (primary ${p.serviceName}):\n` +
        rows
          .map(
            (r) =>
              `        ${r.refused ? "REFUSED " : "ACCEPTED"}  ${r.what.padEnd(52)} ${r.reason.slice(0, 110)}`,
          )
          .join("\n") +
        "\n",
    );
    for (const r of rows) {
      assert.ok(r.refused, `${r.what}: accepted`);
      assert.ok(r.expected, `${r.what}: refused for another reason: ${r.reason}`);
    }
  });

  it("rows written on the primary in dc1 appear on the replica in dc2", async () => {
    const marker = `replicated-${Date.now()}`;
    const w = psql(lab, at().primary, {
      user: "alice",
      db: "analytics",
      cert: alice,
      sql: `INSERT INTO events (what) VALUES ('${marker}')`,
    });
    assert.ok(w.ok, w.err);
    await until("the row reaches the replica", 60_000, () => {
      const r = psql(lab, at().replica, {
        user: "bob",
        db: "analytics",
        cert: bob,
        sql: `SELECT count(*) FROM events WHERE what = '${marker}'`,
      });
      return r.ok && r.out === "1";
    });
    const ro = psql(lab, at().replica, {
      user: "alice",
      db: "analytics",
      cert: alice,
      sql: "INSERT INTO events (what) VALUES ('x')",
    });
    assert.match(ro.err, /read-only transaction/);
  });

  it("lab status --json shows the primary, the streaming replica and its lag", async () => {
    const st = await labStatus(lab);
    const pg = st.datastores.filter((d) => d.engine === "postgresql");
    const primary = pg.find((d) => d.server === at().primary.server.id);
    const replica = pg.find((d) => d.server === at().replica.server.id);
    assert.equal(primary?.role, "primary", JSON.stringify(pg));
    assert.equal(replica?.role, "replica", JSON.stringify(pg));
    assert.equal(replica?.streaming, true);
    assert.ok(
      primary?.replicas?.some((r) => r.state === "streaming"),
      JSON.stringify(primary),
    );
    assert.equal(typeof replica?.lagBytes, "number");
    process.stdout.write(`      status: ${JSON.stringify(pg)}\n`);
  });
});
