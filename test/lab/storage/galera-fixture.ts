/**
 * The lab's Galera members and their clients, as a user runs them: the mariadb client in the dc1
 * management namespace (the operator's machine on the lab's networks) with a user certificate made
 * by the ceremony (postgres-fixture's `issue`), verifying the member's service certificate against
 * the root and its name (a hosts file bind-mounted for that one process, the lab having no DNS).
 * Administration (counting rows, reading state) goes over each member's unix socket as its
 * partition user, as `lab status` does.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IpmitoolBmcClient, spawnRunner } from "../../../lib/ipmi";
import { labBmcLogin } from "../../../lab/bmc/login";
import { inNamespace } from "../../../lab/net";
import { serviceDnsName } from "../../../lib/agent/protocol";
import { mgmtNs, type LabLayout } from "../../../lab/orchestrate/layout";
import { labServerRole } from "../../../lab/orchestrate/stacks";
import { labHostname } from "../../../lab/orchestrate/stack-postgresql";
import { GALERA_SERVICE, galeraMembers } from "../../../lab/releases/mariadb-galera/lab";
import { GALERA_PORTS } from "../../../lab/releases/mariadb-galera/release";
import {
  galeraMembersOnDisk,
  galeraReport,
  memberSql,
  type GaleraMemberOnDisk,
} from "../../../lab/releases/mariadb-galera/status";
import { issue, type ClientCert } from "./postgres-fixture";
import { labUp } from "../../../lab/orchestrate/up";

/**
 * The lab, brought up or reused as it is: an earlier lab file may have taken it down, which powers
 * every server off at once; the members then find the newest position among them and start again
 * by themselves (galera_recovery.py, docs/datastores.md "Recovery"; galera-recovery.test.ts).
 */
export async function labWithGalera(log: (m: string) => void): Promise<LabLayout> {
  return labUp({ log });
}

export interface LabGaleraMember {
  readonly dc: string;
  readonly serverId: string;
  readonly address: string;
  /** The name its service certificate carries (the site names it). */
  readonly serviceName: string;
  readonly disk: GaleraMemberOnDisk;
}

/**
 * The lab's Galera members, once each storage server's agent has laid its instance down: `lab up`
 * returns when the servers run and their agents answer, not when every instance is written.
 */
export async function labGalera(lab: LabLayout, timeoutMs = 300_000): Promise<LabGaleraMember[]> {
  const wanted = galeraMembers(lab.plan, (d, s) => labServerRole(d, s.id) === "storage");
  const missing = () => wanted.filter(({ server }) => galeraMembersOnDisk(lab, server.id).length === 0);
  try {
    await until("a Galera instance on every storage server's disk", timeoutMs, () => missing().length === 0);
  } catch (e) {
    throw new Error(
      `${(e as Error).message}; none on ${missing()
        .map(({ server }) => server.id)
        .join(", ")}`,
    );
  }
  return wanted.map(({ dc, server }) => ({
    dc: dc.id,
    serverId: server.id,
    address: server.dataAddress,
    serviceName: serviceDnsName(GALERA_SERVICE, labHostname(dc, server)),
    disk: galeraMembersOnDisk(lab, server.id)[0],
  }));
}

export const synced = (m: LabGaleraMember, size = 3): boolean => {
  const r = galeraReport(m.disk);
  return r.state === "Synced" && r.clusterSize === size && r.clusterStatus === "Primary";
};

export interface ClientResult {
  readonly ok: boolean;
  readonly out: string;
  readonly err: string;
}

export interface ClientOptions {
  readonly user: string;
  readonly sql: string;
  readonly cert?: ClientCert;
  /** Given to the client in MYSQL_PWD, never on its command line. */
  readonly password?: string;
  /** Plain TCP, no TLS at all. */
  readonly noTls?: boolean;
}

/** The mariadb client from the dc1 management namespace to one member, verifying its certificate and name. */
export function mariadb(lab: LabLayout, m: LabGaleraMember, o: ClientOptions): ClientResult {
  const hosts = join(lab.dir, `galera-hosts-${m.dc}`);
  writeFileSync(hosts, `127.0.0.1 localhost\n${m.address} ${m.serviceName}\n`);
  const tls = o.noTls
    ? ["--skip-ssl"]
    : [
        `--ssl-ca=${join(lab.dir, "root.pem")}`,
        "--ssl-verify-server-cert",
        ...(o.cert ? [`--ssl-cert=${o.cert.chain}`, `--ssl-key=${o.cert.key}`] : []),
      ];
  const args = [
    "--no-defaults",
    `--host=${m.serviceName}`,
    `--port=${GALERA_PORTS.sql}`,
    `--user=${o.user}`,
    "--connect-timeout=10",
    "-N",
    "-B",
    ...tls,
    `--execute=${o.sql}`,
  ];
  const r = spawnSync(
    "ip",
    [
      "netns",
      "exec",
      mgmtNs("dc1"),
      "sh",
      "-c",
      'mount --bind "$0" /etc/hosts && exec mariadb "$@"',
      hosts,
      ...args,
    ],
    {
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", ...(o.password ? { MYSQL_PWD: o.password } : {}) },
    },
  );
  return { ok: r.status === 0, out: (r.stdout ?? "").trim(), err: (r.stderr ?? "").trim() };
}

/** Rows of a query run as the member's administrator (its partition user, unix socket). */
export const adminSql = (m: LabGaleraMember, sql: string): string[][] => memberSql(m.disk, sql, 60_000);

/**
 * A writer that inserts one row per transaction into shop.acked through `via`, and logs each id
 * whose COMMIT the server acknowledged (galera-writer.py). Stops when `stop` is called.
 */
export function startWriter(
  lab: LabLayout,
  via: LabGaleraMember,
  cert: ClientCert,
  logFile: string,
): { proc: ChildProcess; stop: () => Promise<void> } {
  const stopFile = `${logFile}.stop`;
  const proc = spawn(
    "ip",
    [
      "netns",
      "exec",
      mgmtNs("dc1"),
      "/usr/bin/python3",
      join(__dirname, "galera-writer.py"),
      via.address,
      String(GALERA_PORTS.sql),
      "dc1/user/alice",
      cert.chain,
      cert.key,
      join(lab.dir, "root.pem"),
      logFile,
      stopFile,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  const stop = () =>
    new Promise<void>((resolve) => {
      writeFileSync(stopFile, "");
      const t = setTimeout(() => proc.kill("SIGKILL"), 20_000);
      proc.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      if (proc.exitCode !== null) resolve();
    });
  return { proc, stop };
}

export const until = async (what: string, ms: number, probe: () => boolean): Promise<number> => {
  const t0 = Date.now();
  while (!probe()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
  return (Date.now() - t0) / 1000;
};

/** The ids a writer acknowledged (startWriter's log: one a line); none before its first. */
export const acks = (file: string): number[] =>
  existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number) : [];

export interface GaleraWriteSetUp {
  readonly lab: LabLayout;
  /** A new temporary directory (`prefix` + random): alice's key and certificate, the writer's log. */
  readonly dir: string;
  readonly members: LabGaleraMember[];
  readonly alice: ClientCert;
}

/**
 * What the write-through-an-outage tests start from: the lab with every member Synced in a cluster
 * of 3, alice (dc1, readwrite on shop) accepted by dc1's member, and an empty `shop.acked`.
 */
export async function galeraWriteSetUp(prefix: string): Promise<GaleraWriteSetUp> {
  const lab = await labWithGalera((m) => process.stderr.write(`      [lab] ${m}\n`));
  const members = await labGalera(lab);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const alice = issue(lab, dir, "alice");
  await until("every member Synced in a cluster of 3", 600_000, () => members.every((m) => synced(m)));
  await until(
    "alice accepted",
    180_000,
    () => mariadb(lab, members[0], { user: "dc1/user/alice", cert: alice, sql: "SELECT 1" }).ok,
  );
  const t = mariadb(lab, members[0], {
    user: "dc1/user/alice",
    cert: alice,
    sql: "DROP TABLE IF EXISTS shop.acked; CREATE TABLE shop.acked (id BIGINT PRIMARY KEY, at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6))",
  });
  assert.ok(t.ok, t.err);
  return { lab, dir, members, alice };
}

/** The BMC of a member's server, reached from its data center's management namespace. */
export function bmcOf(lab: LabLayout, m: LabGaleraMember): IpmitoolBmcClient {
  const d = lab.plan.dataCenters.find((x) => x.id === m.dc)!;
  const server = d.servers.find((s) => s.id === m.serverId)!;
  return new IpmitoolBmcClient(
    { serverId: server.id, address: server.bmcAddress, ...labBmcLogin(lab, server.id), cipherSuite: 3 },
    { runner: spawnRunner(inNamespace(mgmtNs(d.id))), retry: { retries: 2 } },
  );
}
