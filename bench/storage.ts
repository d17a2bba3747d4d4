/**
 * `npm run bench -- storage` (root; mariadb-server, galera-4, rsync, stunnel4 and python3-pymysql
 * installed, scripts/install-debian-deps.sh): the mariadb-galera release in three network
 * namespaces (lab/releases/mariadb-galera/harness.ts: the agent's renderer, a real ceremony, one
 * member per "data center", the release's own start program), measured in one run:
 *
 *  - the time from the start of `zeroroot lab up` on a purged lab to the cluster Synced, as the issue
 *    asks (bench/storage-lab.ts: its own lab, purged before and after; `ZR_BENCH_STORAGE_LAB=0`
 *    skips it), and, in the harness, the time from starting the three members (fresh, no data) to
 *    all three Synced: the start program's probes, mariadb-install-db, two state transfers by rsync
 *    inside stunnel. Both are printed: the first is what a user waits, the second Galera's share;
 *  - write throughput (single-row transactions, one client, one at a time) through Galera with TLS
 *    and a user certificate, next to the same member's mariadbd alone on the same data and
 *    configuration without Galera and without TLS (the baseline), as a ratio.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GaleraHarness } from "../lab/releases/mariadb-galera/harness";
import { GALERA_PORTS } from "../lab/releases/mariadb-galera/release";
import { timeLabUpToSynced, type LabUpTimes } from "./storage-lab";

const ROWS = Number(process.env.ZR_BENCH_STORAGE_ROWS ?? 1000);
const NEEDS = [
  "/usr/sbin/mariadbd",
  "/usr/lib/galera/libgalera_smm.so",
  "/usr/bin/stunnel4",
  "/usr/bin/rsync",
];

interface Timed {
  rows: number;
  seconds: number;
  /** Transactions Galera's certification refused and the client retried. */
  retries: number;
}

function client(h: GaleraHarness, args: string[]): Timed {
  const r = spawnSync(
    "ip",
    ["netns", "exec", h.clientNs, "/usr/bin/python3", join(__dirname, "storage-client.py"), ...args],
    {
      encoding: "utf8",
      timeout: 30 * 60_000,
    },
  );
  if (r.status !== 0) throw new Error(`bench client failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Timed;
}

export async function run(): Promise<void> {
  const missing = NEEDS.filter((f) => !existsSync(f));
  if (process.getuid?.() !== 0 || missing.length > 0) {
    console.log(`bench storage: needs root and ${missing.join(", ") || "nothing else"}; skipped`);
    return;
  }
  const fromLabUp: LabUpTimes | undefined =
    process.env.ZR_BENCH_STORAGE_LAB === "0" ? undefined : await timeLabUpToSynced();
  if (fromLabUp) {
    const sec = (x?: number) => (x === undefined ? "?" : `${x.toFixed(1)} s`);
    console.log(
      `lab up (purged lab, cached images) → 3 Synced: ${sec(fromLabUp.galeraSynced)} ` +
        `(servers ready at ${sec(fromLabUp.serversReady)}; lab up returned, every datastore healthy, at ${sec(fromLabUp.datastoresHealthy)})`,
    );
  } else console.log("lab up → 3 Synced: not measured (ZR_BENCH_STORAGE_LAB=0)");
  const h = new GaleraHarness({
    id: `galb${process.pid % 10000}`,
    baseDir: `/var/tmp/zr-bench-storage-${process.pid}`,
    subnet: "10.213.9",
    dataAccess: [
      { service: "galera", database: "shop", grants: [{ user: "dc1/user/alice", access: "readwrite" }] },
    ],
  });
  try {
    h.setUp();
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) h.start(i);
    await h.waitSynced([0, 1, 2], 3, 600_000);
    const toSynced = (Date.now() - t0) / 1000;
    console.log(
      `members started → 3 Synced: ${toSynced.toFixed(1)} s (harness: fresh data, 2 SSTs by rsync over stunnel)`,
    );

    // grants are applied by each member's access program once it is Synced
    const usersDir = join(h.opts.baseDir, "users");
    mkdirSync(usersDir, { recursive: true });
    const alice = h.issue("dc1", "user", "alice");
    const f = (n: string, text: string) => (
      writeFileSync(join(usersDir, n), text, { mode: 0o600 }),
      join(usersDir, n)
    );
    const chain = f(
      "alice.pem",
      alice.cert + alice.chain.slice(0, alice.chain.indexOf("-----END CERTIFICATE-----") + 26) + "\n",
    );
    const key = f("alice.key", alice.key);
    const root = join(h.pki, "root", "ca.pem");
    for (
      let n = 0;
      n < 60 && !h.adminSql(0, "SELECT 1 FROM mysql.global_priv WHERE User='dc1/user/alice';").out.trim();
      n++
    )
      await new Promise((r) => setTimeout(r, 1000));
    const address = h.members[0].address;
    const galera = client(h, [
      address,
      String(GALERA_PORTS.sql),
      "dc1/user/alice",
      String(ROWS),
      chain,
      key,
      root,
    ]);

    for (let i = 0; i < 3; i++) h.kill(i);
    await new Promise((r) => setTimeout(r, 1000));
    h.startPlain(0);
    for (let n = 0; n < 120 && !h.adminSql(0, "SELECT 1;").ok; n++)
      await new Promise((r) => setTimeout(r, 500));
    // a throwaway account for the baseline only: plain TCP, no certificate (torn down with the bench)
    const made = h.adminSql(0, "CREATE USER bench@'%'; GRANT ALL ON shop.* TO bench@'%';");
    if (!made.ok) throw new Error(`baseline account: ${made.out}`);
    const plain = client(h, [address, String(GALERA_PORTS.sql), "bench", String(ROWS)]);

    const rate = (t: Timed) => t.rows / t.seconds;
    console.log(
      `single MariaDB, no Galera, no TLS:   ${rate(plain).toFixed(0)} rows/s (${ROWS} single-row transactions, ${plain.retries} retried)`,
    );
    console.log(
      `3-member Galera, TLS + certificate:  ${rate(galera).toFixed(0)} rows/s (${galera.retries} retried after a certification conflict)`,
    );
    console.log(
      `ratio Galera+TLS / single: ${(rate(galera) / rate(plain)).toFixed(2)}x (one run, one client, 2 shared cores)`,
    );
  } finally {
    h.tearDown();
  }
}
