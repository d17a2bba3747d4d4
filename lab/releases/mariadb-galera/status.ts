/**
 * Galera members of the lab, read from each server's disk: the partition whose instance carries the
 * release's galera.conf, asked over its unix socket as that partition user (unix_socket
 * authentication: the member's only administrator; no certificate or password involved). For
 * `zeroroot lab status` (cluster size and state of each member) and the lab tests.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { serverPaths } from "../../server";
import type { LabLayout } from "../../orchestrate/layout";

export interface GaleraMemberOnDisk {
  readonly server: string;
  readonly partition: string;
  readonly uid: number;
  /** The instance directory as the host sees it. */
  readonly instanceDir: string;
  readonly socket: string;
}

export interface GaleraReport {
  readonly engine: "galera";
  readonly server: string;
  readonly partition: string;
  /** wsrep_local_state_comment: Synced, Donor/Desynced, Joining, Joined, … */
  readonly state?: string;
  readonly clusterSize?: number;
  /** wsrep_cluster_status: Primary, or non-Primary when this member lost quorum. */
  readonly clusterStatus?: string;
  readonly error?: string;
}

/** Galera members on one server's disk. */
export function galeraMembersOnDisk(lab: LabLayout, serverId: string): GaleraMemberOnDisk[] {
  const home = join(serverPaths(serverId, lab.dir).disk, "var/lib/zeroroot");
  if (!existsSync(home)) return [];
  return readdirSync(home)
    .filter((p) => /^zr-p\d{3}$/.test(p) && existsSync(join(home, p, "instance/etc/galera.conf")))
    .map((partition) => ({
      server: serverId,
      partition,
      uid: statSync(join(home, partition)).uid,
      instanceDir: join(home, partition, "instance"),
      socket: join(home, partition, "instance/run/mysqld.sock"),
    }));
}

/** Runs SQL on a member as its partition user; rows split on tabs. Throws with the client's message. */
export function memberSql(m: GaleraMemberOnDisk, sql: string, timeoutMs = 10_000): string[][] {
  const r = spawnSync(
    "setpriv",
    [
      `--reuid=${m.uid}`,
      `--regid=${m.uid}`,
      "--clear-groups",
      "mariadb",
      "--no-defaults",
      "--protocol=socket",
      `--socket=${m.socket}`,
      `--user=${m.partition}`,
      "--connect-timeout=3",
      "-N",
      "-B",
    ],
    { input: sql, encoding: "utf8", timeout: timeoutMs, env: { PATH: "/usr/bin:/bin" } },
  );
  if (r.status !== 0)
    throw new Error((r.stderr || r.error?.message || "mariadb failed").trim().split("\n")[0]);
  return r.stdout
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => l.split("\t"));
}

export function galeraReport(m: GaleraMemberOnDisk): GaleraReport {
  const base = { engine: "galera" as const, server: m.server, partition: m.partition };
  if (!existsSync(m.socket)) return { ...base, error: "not running (no socket)" };
  try {
    const kv = Object.fromEntries(
      memberSql(
        m,
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment','wsrep_cluster_size','wsrep_cluster_status');",
      ),
    );
    return {
      ...base,
      state: kv.wsrep_local_state_comment,
      clusterSize: Number(kv.wsrep_cluster_size),
      clusterStatus: kv.wsrep_cluster_status,
    };
  } catch (e) {
    return { ...base, error: (e as Error).message };
  }
}

export function galeraReports(lab: LabLayout): GaleraReport[] {
  return lab.plan.dataCenters.flatMap((d) =>
    d.servers.flatMap((s) => galeraMembersOnDisk(lab, s.id).map(galeraReport)),
  );
}

/** A member not Synced in a primary cluster of every data center is a problem. */
export function galeraProblems(r: GaleraReport, expectedSize: number): string[] {
  const at = `galera ${r.server}/${r.partition}`;
  if (r.error) return [`${at}: cannot be read: ${r.error}`];
  if (r.clusterStatus !== "Primary") return [`${at}: not in a primary component (${r.clusterStatus})`];
  if (r.state !== "Synced") return [`${at}: ${r.state}, not Synced`];
  if (r.clusterSize !== expectedSize) return [`${at}: cluster of ${r.clusterSize}, expected ${expectedSize}`];
  return [];
}

export function formatGalera(r: GaleraReport): string {
  const where = `galera ${r.server} ${r.partition}`;
  if (r.error) return `${where}  ERROR ${r.error}`;
  return `${where}  ${r.state}  cluster size ${r.clusterSize} (${r.clusterStatus})`;
}
