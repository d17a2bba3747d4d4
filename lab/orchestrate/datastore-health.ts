/**
 * `lab up` ends only when the datastores its stacks declare are healthy: a PostgreSQL primary that
 * answers, each replica streaming from it, every Galera member Synced in one primary component of
 * as many members as the stacks declare. Servers read as "running and ready" before this (converge)
 * says only that the agent runs; a fresh replica may still be in pg_basebackup and Galera joiners in
 * state transfer. The readers are `lab status`'s (status-datastores.ts, mariadb-galera/status.ts),
 * so `lab up` and `lab status` judge alike; waiting is bounded and a failure names each instance.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { datastoreEngineOf } from "../../lib/fleet/datastore-engines";
import { galeraProblems, type GaleraReport } from "../releases/mariadb-galera/status";
import type { LabLayout } from "./layout";
import { datastoreReports, type PostgresqlReport } from "./status-datastores";

/** How long `lab up` waits for the datastores after the servers converged (fresh: two SSTs, a basebackup). */
export const DATASTORE_HEALTH_TIMEOUT_MS = 10 * 60_000;
const POLL_MS = 3_000;

/** One datastore instance a data-center stack declares. */
export interface DeclaredDatastore {
  readonly engine: "postgresql" | "mariadb";
  readonly server: string;
  /** PostgreSQL's `mode` parameter: primary or replica. */
  readonly mode?: string;
}

interface ServiceEntry {
  release?: unknown;
  placement?: { servers?: unknown };
  parameters?: { mode?: unknown };
}

/** The datastore instances of the data-center stack files (their `zeroroot:services`, explicit placements). */
export function declaredDatastores(stackFiles: readonly string[]): DeclaredDatastore[] {
  return stackFiles.flatMap((file) => {
    const doc = parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    const services = (doc?.config?.["zeroroot:services"] ?? []) as ServiceEntry[];
    return services.flatMap((s) => {
      const engine = typeof s.release === "string" ? datastoreEngineOf(s.release.split("@")[0]) : undefined;
      const servers = Array.isArray(s.placement?.servers) ? (s.placement.servers as string[]) : [];
      if (!engine) return [];
      const mode = typeof s.parameters?.mode === "string" ? s.parameters.mode : undefined;
      return servers.map((server) => ({ engine, server, ...(mode ? { mode } : {}) }));
    });
  });
}

/** What keeps the declared datastores from being healthy now; empty when they are. */
export function datastoreHealthProblems(
  declared: readonly DeclaredDatastore[],
  reports: readonly (PostgresqlReport | GaleraReport)[],
): string[] {
  const pg = declared.filter((d) => d.engine === "postgresql");
  const replicas = pg.filter((d) => d.mode === "replica").length;
  const problems = pg.flatMap((d) => {
    const at = d.mode ? `postgresql ${d.mode} on ${d.server}` : `postgresql on ${d.server}`;
    const r = reports.find((x): x is PostgresqlReport => x.engine === "postgresql" && x.server === d.server);
    if (!r) return [`${at}: no data directory yet (being initialised or copied from the primary)`];
    if (r.error) return [`${at}: ${r.error}`];
    if (d.mode && r.role !== d.mode) return [`${at}: runs as ${r.role}`];
    if (r.role === "replica" && !r.streaming) return [`${at}: not streaming from its primary yet`];
    const streaming = (r.replicas ?? []).filter((x) => x.state === "streaming").length;
    if (r.role === "primary" && streaming < replicas)
      return [`${at}: ${streaming} of ${replicas} replica(s) streaming`];
    return [];
  });
  const members = declared.filter((d) => d.engine === "mariadb");
  for (const d of members) {
    const r = reports.find((x): x is GaleraReport => x.engine === "galera" && x.server === d.server);
    problems.push(...(r ? galeraProblems(r, members.length) : [`galera on ${d.server}: not laid down yet`]));
  }
  return problems;
}

/**
 * Polls until the declared datastores are healthy or `timeoutMs` passed; returns what was still not
 * healthy at the end (empty on success).
 */
export async function waitForDatastores(
  lab: LabLayout,
  stackFiles: readonly string[],
  step: (m: string) => void,
  timeoutMs = DATASTORE_HEALTH_TIMEOUT_MS,
): Promise<string[]> {
  const declared = declaredDatastores(stackFiles);
  if (declared.length === 0) return [];
  const started = Date.now();
  let last: string[] = [];
  for (;;) {
    const now = datastoreHealthProblems(declared, datastoreReports(lab).reports);
    if (now.length === 0) {
      step(
        `datastores healthy (${declared.length} instances) after ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      return [];
    }
    if (now.join("\n") !== last.join("\n")) step(`waiting for datastores: ${now.join("; ")}`);
    last = now;
    if (Date.now() - started >= timeoutMs) return now;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The message `lab up` fails with when the wait ran out. */
export function formatUnhealthy(problems: readonly string[], timeoutMs: number): string {
  return (
    `the datastores were not healthy within ${Math.round(timeoutMs / 1000)} s:\n` +
    problems.map((p) => `  ${p}`).join("\n") +
    "\n(the servers run; `zeroroot lab status` shows each datastore, `zeroroot lab up` waits again)"
  );
}
