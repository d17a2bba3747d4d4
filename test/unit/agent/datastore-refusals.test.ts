import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Alert } from "../../../agents/node/alerts";
import type { AgentContext } from "../../../agents/node/context";
import { LogFollower, watchRefusals } from "../../../agents/node/refusal-logs";
import {
  completeLines,
  findRefusals,
  newRefusalMemory,
  parseRefusals,
  REFUSAL_LIMITS,
  type DatastoreEngine,
  type DatastoreRefusal,
} from "../../../lib/agent/datastore-refusals";
import { RefusalWindows } from "../../../lib/agent/refusal-windows";
import { partitionPaths } from "../../../lib/hardening/partitions";
import { DIGEST, record } from "./fixtures";

// Line shapes as Debian's PostgreSQL 15 and MariaDB 10.11 write them (test/integration/agent).
const PG = "2026-12-03 07:30:15.698 GMT";
const received = (pid: number, host = "10.1.2.3") =>
  `${PG} [${pid}] LOG:  connection received: host=${host} port=33040`;
const MDB = "2026-12-03  7:30:26";
const brief = (r: DatastoreRefusal) => [r.user, r.clientAddress, r.reason];

describe("datastore refusals in a log", () => {
  const rows: [string, DatastoreEngine, string, (string | undefined)[][]][] = [
    [
      "a certificate PostgreSQL refused, addressed by its backend's connection line",
      "postgresql",
      [
        received(5731),
        `${PG} [5731] LOG:  no match in usermap "zrjobs-10.1.2.3" for user "alice" authenticated as "CN=dc1.alice,O=10.9.9.9"`,
        `${PG} [5731] FATAL:  certificate authentication failed for user "alice"`,
        `${PG} [5731] DETAIL:  Connection matched pg_hba.conf line 5: "hostssl analytics alice 10.1.2.3/32 cert"`,
      ].join("\n"),
      [["alice", "10.1.2.3", "certificate-authentication-failed"]],
    ],
    [
      "no pg_hba.conf line for the client",
      "postgresql",
      `${PG} [7] FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "bob", database "analytics", SSL encryption\n`,
      [["bob", "10.0.0.9", "no-hba-entry"]],
    ],
    [
      "a reject line",
      "postgresql",
      `${PG} [8] FATAL:  pg_hba.conf rejects connection for host "10.0.0.9", user "replicator", database "x", SSL encryption\n`,
      [["replicator", "10.0.0.9", "hba-rejected"]],
    ],
    [
      "no client certificate, and a certificate refused in the TLS handshake",
      "postgresql",
      [
        received(9, "10.0.0.7"),
        `${PG} [9] FATAL:  connection requires a valid client certificate`,
        received(10, "10.0.0.8"),
        `${PG} [10] LOG:  could not accept SSL connection: certificate verify failed`,
        "",
      ].join("\n"),
      [
        ["", "10.0.0.7", "client-certificate-required"],
        ["", "10.0.0.8", "tls-certificate-refused"],
      ],
    ],
    [
      "nothing in ordinary lines, successful logins and a client that went away",
      "postgresql",
      [
        received(11),
        `${PG} [11] LOG:  connection authorized: user=alice database=analytics SSL enabled`,
        `${PG} [12] LOG:  could not accept SSL connection: EOF detected`,
        `${PG} [13] FATAL:  the database system is starting up`,
        "",
      ].join("\n"),
      [],
    ],
    [
      "an account MariaDB refused",
      "mariadb",
      [
        `${MDB} 5 [Note] X509 subject mismatch: should be '/O=127.0.0.1/CN=dc1.alice' but is '/O=127.0.0.3/CN=dc1.alice'`,
        `${MDB} 5 [Warning] Access denied for user 'dc1/user/alice'@'10.0.0.5' (using password: NO)`,
        "",
      ].join("\n"),
      [["dc1/user/alice", "10.0.0.5", "access-denied"]],
    ],
    [
      "a user name holding quotes, a bidi override and a control character, escaped",
      "mariadb",
      `${MDB} 6 [Warning] Access denied for user 'a'b"\u202e\u0007'@'10.0.0.5' (using password: NO)\n`,
      [["a'b\\\"\\u202e\\u0007", "10.0.0.5", "access-denied"]],
    ],
    [
      "a PostgreSQL user name with a newline: the continuation (tab) line forges nothing",
      "postgresql",
      [
        received(14),
        `${PG} [14] FATAL:  certificate authentication failed for user "x"\u202e`,
        `\t${PG} [1] FATAL:  certificate authentication failed for user "root"`,
        "",
      ].join("\n"),
      [['x\\"\\u202e', "10.1.2.3", "certificate-authentication-failed"]],
    ],
    [
      "a forged MariaDB line inside a user name (MariaDB cuts names to 48 characters)",
      "mariadb",
      `${MDB} 7 [Warning] Access denied for user 'x\n[Warning] Access denied for user 'root'@'1.2.3.4'@'10.0.0.5' (using password: NO)\n`,
      [],
    ],
    [
      "a partial last line, left until it is completed",
      "mariadb",
      `${MDB} 8 [Warning] Access denied for user 'alice'@'10.0.0.5' (using password: NO)`,
      [],
    ],
    ["garbage", "postgresql", "\u0000\uffff[]]]\n[[[[ FATAL: \n\n\t\r\n" + "\ud800".repeat(50) + "\n", []],
  ];
  for (const [what, engine, text, want] of rows)
    it(`reads ${what}`, () => {
      assert.deepEqual(parseRefusals(engine, text).map(brief), want);
    });

  it("cuts and escapes the line it keeps", () => {
    const long = `${MDB} 9 [Warning] Access denied for user 'alice'@'10.0.0.5' (using password: NO)${"\u202e".repeat(5000)}\n`;
    const [r] = parseRefusals("mariadb", long);
    assert.ok(r.line.length <= REFUSAL_LIMITS.lineShown * 6 + 3, `${r.line.length}`);
    assert.ok(r.line.endsWith("\\u202e..."));
    assert.doesNotMatch(r.line, /[\u007f-\uffff\n]/);
  });

  it("remembers backends' addresses across passes, a bounded number of them", () => {
    const memory = newRefusalMemory();
    findRefusals("postgresql", [received(1, "10.0.0.1")], memory);
    findRefusals(
      "postgresql",
      Array.from({ length: 10_000 }, (_, i) => received(i + 2)),
      memory,
    );
    findRefusals("postgresql", [received(20_000, "10.0.0.2")], memory);
    const fail = (pid: number) => `${PG} [${pid}] FATAL:  certificate authentication failed for user "a"`;
    assert.deepEqual(
      findRefusals("postgresql", [fail(20_000), fail(1)], memory).map((r) => r.clientAddress),
      ["10.0.0.2", ""],
    );
    assert.ok(memory.backends.size <= REFUSAL_LIMITS.backendsRemembered);
  });

  it("splits only complete lines, and skips a line longer than a whole read", () => {
    const limits = { readBytes: 16, lineBytes: 8 };
    assert.deepEqual(completeLines(Buffer.from("ab\ncdefghijkl\nxy"), false, limits), {
      lines: ["ab", "cdefghij"],
      consumed: 14,
      skipping: false,
    });
    const endless = completeLines(Buffer.alloc(16, 0x61), false, limits);
    assert.deepEqual(endless, { lines: [], consumed: 16, skipping: true });
    assert.deepEqual(completeLines(Buffer.from("aaaa\nok\n"), true, limits), {
      lines: ["ok"],
      consumed: 8,
      skipping: false,
    });
  });
});

describe("refusal alerts per window", () => {
  const refusal = (user: string, clientAddress = "10.0.0.5"): DatastoreRefusal => ({
    engine: "mariadb",
    user,
    clientAddress,
    reason: "access-denied",
    line: "l",
  });

  it("makes one alert of 100,000 refusals of one pair, with their count, and none more in the window", () => {
    const w = new RefusalWindows({ windowMs: 60_000 });
    const flood = Array.from({ length: 100_000 }, () => refusal("alice"));
    assert.deepEqual(
      w.take("db-1", flood, 0).map((a) => [a.refusal.user, a.count]),
      [["alice", 100_000]],
    );
    assert.deepEqual(w.take("db-1", [refusal("alice"), refusal("alice")], 30_000), []);
    // the next window's alert counts those held back
    assert.deepEqual(
      w.take("db-1", [refusal("alice")], 61_000).map((a) => a.count),
      [3],
    );
  });

  it("bounds 100,000 refusals of 100,000 pairs to the window's budget and one folded alert", () => {
    const w = new RefusalWindows({ windowMs: 60_000, pairsPerWindow: 20 });
    const flood = Array.from({ length: 100_000 }, (_, i) => refusal(`u${i}`));
    const alerts = w.take("db-1", flood, 0);
    assert.equal(alerts.length, 21);
    const folded = alerts[20];
    assert.deepEqual([folded.refusal.user, folded.refusal.clientAddress, folded.count], ["*", "*", 99_980]);
    // u0-u19 are held on their own alerts; the other 980 on the folded one
    assert.deepEqual(w.take("db-1", flood.slice(0, 1000), 1000), []);
    assert.deepEqual(
      w.take("db-1", [], 61_000).map((a) => [a.refusal.user, a.count]),
      [["*", 980]],
    );
  });

  it("keeps instances apart", () => {
    const w = new RefusalWindows();
    assert.equal(w.take("db-1", [refusal("alice")], 0).length, 1);
    assert.equal(w.take("db-2", [refusal("alice")], 0).length, 1);
    assert.equal(w.take("db-1", [refusal("alice", "10.0.0.6")], 0).length, 1);
  });
});

describe("following a datastore log", () => {
  let dir = "";
  let file = "";
  const line = (user: string) =>
    `${MDB} 5 [Warning] Access denied for user '${user}'@'10.0.0.5' (using password: NO)\n`;
  const users = (f: LogFollower) => findRefusals("mariadb", f.next()).map((r) => r.user);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-reflog-"));
    file = path.join(dir, "mariadbd.log");
    fs.writeFileSync(file, line("before"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("starts at the end of a log first seen, then reads only what was added", () => {
    const f = new LogFollower(file);
    assert.deepEqual(users(f), []);
    fs.appendFileSync(file, line("a") + line("b").slice(0, 20));
    assert.deepEqual(users(f), ["a"]);
    fs.appendFileSync(file, line("b").slice(20));
    assert.deepEqual(users(f), ["b"]);
    assert.deepEqual(users(f), []);
  });

  it("reads the rest of a rotated log, then the new one from its start", () => {
    const f = new LogFollower(file);
    f.next();
    fs.appendFileSync(file, line("last-of-old"));
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, line("first-of-new"));
    assert.deepEqual(users(f), ["last-of-old", "first-of-new"]);
  });

  it("reads a truncated log from its start", () => {
    const f = new LogFollower(file);
    fs.appendFileSync(file, line("x".repeat(40)));
    f.next();
    fs.writeFileSync(file, line("after"));
    assert.deepEqual(users(f), ["after"]);
  });

  it("reads a flood over several passes, a bounded number of bytes each", () => {
    const f = new LogFollower(file, 4096);
    f.next();
    fs.appendFileSync(file, Array.from({ length: 1000 }, (_, i) => line(`u${i}`)).join(""));
    const first = users(f);
    assert.ok(first.length > 0 && first.length < 1000, `${first.length}`);
    let all = first;
    for (let i = 0; i < 100 && all.length < 1000; i++) all = [...all, ...users(f)];
    assert.deepEqual(
      all,
      Array.from({ length: 1000 }, (_, i) => `u${i}`),
    );
  });

  it("reads nothing, and does not throw, when the log is missing", () => {
    const f = new LogFollower(path.join(dir, "absent.log"));
    assert.deepEqual(f.next(), []);
  });
});

describe("the agent's pass over its datastores' logs", () => {
  let root = "";
  const rel = (name: string) => ({ name, version: "1.0.0", manifestDigest: DIGEST });
  const recs = [
    record({ name: "pg-1", release: rel("postgresql") }, 0),
    record({ name: "db-1", release: rel("mariadb-galera") }, 1),
    record({ name: "web-1" }, 2),
  ];
  const logOf = (user: string, program: string) =>
    path.join(root, user, "supervisor", "log", `${program}.log`);

  /** What watchRefusals uses of the agent's context: its instances, partition paths and alerts. */
  function fakeContext(alerts: Omit<Alert, "at" | "computerId">[]) {
    return {
      state: { instances: Object.fromEntries(recs.map((r) => [r.name, r])) },
      paths: (user: string) => partitionPaths(user, root),
      alert: (_: string | undefined, a: Omit<Alert, "at" | "computerId">) => alerts.push(a),
    } as unknown as AgentContext;
  }

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "zr-reflogs-"));
    for (const [user, program] of [
      ["zr-p000", "postgres"],
      ["zr-p001", "mariadbd"],
      ["zr-p002", "web"],
    ]) {
      fs.mkdirSync(path.dirname(logOf(user, program)), { recursive: true });
      fs.writeFileSync(logOf(user, program), "");
    }
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("raises datastore-refusal warnings with evidence from each datastore's program log only", () => {
    const alerts: Omit<Alert, "at" | "computerId">[] = [];
    const ctx = fakeContext(alerts);
    watchRefusals(ctx, 0);
    fs.appendFileSync(
      logOf("zr-p000", "postgres"),
      `${received(4, "10.0.0.3")}\n${PG} [4] FATAL:  certificate authentication failed for user "alice"\n`,
    );
    const denied = `${MDB} 5 [Warning] Access denied for user 'dc1/user/alice'@'10.0.0.3' (using password: NO)\n`;
    fs.appendFileSync(logOf("zr-p001", "mariadbd"), denied.repeat(3));
    fs.appendFileSync(logOf("zr-p002", "web"), denied);
    watchRefusals(ctx, 1000);
    assert.deepEqual(
      alerts.map((a) => [
        a.kind,
        a.severity,
        a.instance,
        a.evidence?.engine,
        a.evidence?.user,
        a.evidence?.clientAddress,
        a.evidence?.count,
      ]),
      [
        ["datastore-refusal", "warning", "pg-1", "postgresql", "alice", "10.0.0.3", 1],
        ["datastore-refusal", "warning", "db-1", "mariadb", "dc1/user/alice", "10.0.0.3", 3],
      ],
    );
    assert.deepEqual(Object.keys(alerts[0].evidence ?? {}).sort(), [
      "clientAddress",
      "count",
      "engine",
      "line",
      "partition",
      "reason",
      "user",
    ]);
  });
});
