/**
 * Datastore health for `zeroroot lab status`: each PostgreSQL instance found on a server's disk,
 * asked over its unix socket as its own partition user (peer authentication, the instance's
 * superuser; no certificate or password involved): primary or replica, and replication lag. A
 * primary with no streaming replica, or a replica not streaming, is a problem. Galera's cluster size
 * and state are added here too (issue #11).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { serverPaths } from "../server";
import type { LabLayout } from "./layout";
import {
  formatGalera,
  galeraProblems,
  galeraReports,
  type GaleraReport,
} from "../releases/mariadb-galera/status";

const PSQL = "/usr/lib/postgresql/15/bin/psql";
/** A replica further behind than this (bytes of WAL not replayed) is reported as lagging. */
export const MAX_HEALTHY_LAG_BYTES = 16 * 1024 * 1024;

export interface PostgresqlReport {
  readonly engine: "postgresql";
  readonly server: string;
  readonly partition: string;
  readonly port: number;
  readonly role?: "primary" | "replica";
  /** On a primary: its streaming replicas as it sees them. */
  readonly replicas?: readonly { readonly name: string; readonly state: string; readonly lagBytes: number }[];
  /** On a replica: whether its WAL receiver streams, and the WAL received but not yet replayed. */
  readonly streaming?: boolean;
  readonly lagBytes?: number;
  readonly error?: string;
}

export type DatastoreReport = PostgresqlReport | GaleraReport;

export function datastoreReports(lab: LabLayout): { reports: DatastoreReport[]; problems: string[] } {
  const reports = lab.plan.dataCenters.flatMap((d) => d.servers.flatMap((s) => postgresqlOn(lab, s.id)));
  const galera = galeraReports(lab);
  return {
    reports: [...reports, ...galera],
    problems: [...reports.flatMap(problemsOf), ...galera.flatMap((r) => galeraProblems(r, galera.length))],
  };
}

function problemsOf(r: PostgresqlReport): string[] {
  const at = `postgresql ${r.server}/${r.partition}`;
  if (r.error) return [`${at}: cannot be read: ${r.error}`];
  if (r.role === "primary" && (r.replicas ?? []).every((x) => x.state !== "streaming"))
    return [`${at}: primary with no streaming replica`];
  if (r.role === "replica" && !r.streaming) return [`${at}: replica not streaming from its primary`];
  if ((r.lagBytes ?? 0) > MAX_HEALTHY_LAG_BYTES) return [`${at}: replica ${r.lagBytes} bytes behind`];
  return [];
}

/** PostgreSQL instances of one server: partitions whose instance has a data directory and a socket. */
function postgresqlOn(lab: LabLayout, serverId: string): PostgresqlReport[] {
  const home = join(serverPaths(serverId, lab.dir).disk, "var/lib/zeroroot");
  if (!existsSync(home)) return [];
  return readdirSync(home)
    .filter((p) => /^zr-p\d{3}$/.test(p) && existsSync(join(home, p, "instance/data/PG_VERSION")))
    .flatMap((partition) => {
      const run = join(home, partition, "instance/run");
      const socket = existsSync(run) ? readdirSync(run).find((f) => /^\.s\.PGSQL\.\d+$/.test(f)) : undefined;
      const base = { engine: "postgresql" as const, server: serverId, partition };
      if (!socket) return [{ ...base, port: 0, error: "not running (no socket)" }];
      const port = Number(socket.slice(".s.PGSQL.".length));
      const uid = statSync(join(home, partition)).uid;
      return [probe({ ...base, port }, run, uid)];
    });
}

function probe(base: PostgresqlReport, run: string, uid: number): PostgresqlReport {
  const query = (sql: string) => {
    const r = spawnSync(
      "setpriv",
      [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", PSQL, "-X", "-A", "-t", "-F", "|", "-c", sql],
      {
        encoding: "utf8",
        timeout: 5_000,
        env: {
          PATH: "/usr/bin:/bin",
          PGHOST: run,
          PGPORT: String(base.port),
          PGUSER: base.partition,
          PGDATABASE: "postgres",
          PGCONNECT_TIMEOUT: "3",
        },
      },
    );
    if (r.status !== 0)
      throw new Error((r.stderr || r.error?.message || "psql failed").trim().split("\n")[0]);
    return r.stdout.trim();
  };
  try {
    if (query("SELECT pg_is_in_recovery()") === "f") {
      const rows = query(
        "SELECT application_name, state, COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint FROM pg_stat_replication",
      );
      const replicas = rows
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("|"))
        .map(([name, state, lag]) => ({ name, state, lagBytes: Number(lag) }));
      return { ...base, role: "primary", replicas };
    }
    const [status, lag] = query(
      "SELECT COALESCE((SELECT status FROM pg_stat_wal_receiver), 'none'), COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint",
    ).split("|");
    return { ...base, role: "replica", streaming: status === "streaming", lagBytes: Number(lag) };
  } catch (e) {
    return { ...base, error: (e as Error).message };
  }
}

/** One line per datastore instance for the human-readable status. */
export function formatDatastores(reports: readonly DatastoreReport[]): string[] {
  return reports.map((r) => {
    if (r.engine === "galera") return formatGalera(r);
    const where = `${r.engine} ${r.server} ${r.partition} :${r.port}`;
    if (r.error) return `${where}  ERROR ${r.error}`;
    if (r.role === "primary")
      return `${where}  primary  replicas: ${(r.replicas ?? []).map((x) => `${x.name} ${x.state} lag ${x.lagBytes} B`).join(", ") || "none"}`;
    return `${where}  replica  ${r.streaming ? "streaming" : "NOT streaming"}  lag ${r.lagBytes} B`;
  });
}
