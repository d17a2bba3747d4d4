/**
 * The lab user's Dask cluster in `zeroroot lab status`: each process the cluster should have (from
 * the same layout the stacks use, lib/compute/layout.ts), whether it runs on its server under a
 * partition user (the servers' /proc, as status.ts reads it), and how many workers the scheduler has
 * registered (its log on the server's disk: the status reader holds no certificate of the owner, so
 * it does not ask the scheduler itself).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { clusterLayout } from "../../../lib/compute/layout";
import type { ClusterConfig, ServerConfig } from "../../../lib/fleet";
import { serverPaths } from "../../server";
import type { LabLayout } from "../../orchestrate/layout";
import { labServerRole } from "../../orchestrate/stacks";
import { LAB_CLUSTER } from "./lab";
import { DASK_PROGRAM } from "./release";

interface ServerProcesses {
  readonly id: string;
  readonly instances: readonly { readonly user: string; readonly uid: number; readonly command: string }[];
}

export interface ClusterProcessReport {
  readonly instance: string;
  readonly role: "scheduler" | "worker";
  readonly server: string;
  readonly port: number;
  /** The partition user running it, when it runs. */
  readonly user?: string;
}

export interface ClusterReport {
  readonly engine: "dask";
  readonly owner: string;
  readonly name: string;
  readonly processes: readonly ClusterProcessReport[];
  /** Workers registered minus removed, as the scheduler's log says; undefined without a log. */
  readonly registeredWorkers?: number;
}

const serverConfigs = (lab: LabLayout, dc: string): ServerConfig[] =>
  (lab.plan.dataCenters.find((d) => d.id === dc)?.servers ?? []).map(
    (s) =>
      ({
        id: s.id,
        address: s.dataAddress,
        roles: [
          labServerRole(
            lab.plan.dataCenters.find((d) => d.id === dc)!,
            s.id,
          ),
        ],
      }) as unknown as ServerConfig,
  );

/** The lab cluster's report; [] when the lab has no compute server for it (one server per data center). */
export function labClusterReports(lab: LabLayout, servers: readonly ServerProcesses[]): ClusterReport[] {
  const r = labClusterReport(lab, servers);
  return r.processes.length > 0 ? [r] : [];
}

export function labClusterReport(lab: LabLayout, servers: readonly ServerProcesses[]): ClusterReport {
  const sched = serverConfigs(lab, LAB_CLUSTER.schedulerDataCenter).find((s) => s.roles.includes("compute"));
  const config: ClusterConfig = {
    owner: LAB_CLUSTER.owner,
    name: LAB_CLUSTER.name,
    release: "dask@0.0.0",
    scheduler: { server: sched?.id ?? "", port: LAB_CLUSTER.schedulerPort },
    workers: { ...LAB_CLUSTER.workers, dataCenters: [...LAB_CLUSTER.workers.dataCenters] },
  };
  const expected = lab.plan.dataCenters.flatMap((d) => {
    const l = clusterLayout(config, d.id, serverConfigs(lab, d.id));
    return [
      ...(l.scheduler ? [{ ...l.scheduler, role: "scheduler" as const }] : []),
      ...l.workers.map((w) => ({ ...w, role: "worker" as const })),
    ];
  });
  const processes = expected.map((p) => {
    const found = servers
      .find((s) => s.id === p.server)
      ?.instances.find((i) => runsOnPort(i.command, p.role, p.port));
    return { instance: p.instance, role: p.role, server: p.server, port: p.port, user: found?.user };
  });
  const scheduler = processes.find((p) => p.role === "scheduler" && p.user !== undefined);
  return {
    engine: "dask",
    owner: LAB_CLUSTER.owner,
    name: LAB_CLUSTER.name,
    processes,
    registeredWorkers: scheduler ? registeredWorkers(lab, scheduler.server, scheduler.user!) : undefined,
  };
}

/** The exec'd Dask command line of a role listening on `port` (dask-start.py's arguments). */
function runsOnPort(command: string, role: "scheduler" | "worker", port: number): boolean {
  return role === "scheduler"
    ? command.includes("distributed.cli.dask_scheduler") && command.includes(` --port ${port} `)
    : command.includes("distributed.cli.dask_worker") &&
        new RegExp(`--listen-address tls://\\S+:${port} `).test(command);
}

function registeredWorkers(lab: LabLayout, server: string, user: string): number | undefined {
  const log = join(
    serverPaths(server, lab.dir).disk,
    "var/lib/zeroroot",
    user,
    "supervisor/log",
    `${DASK_PROGRAM}.log`,
  );
  if (!/^zr-p\d{3}$/.test(user) || !existsSync(log)) return undefined;
  const text = readFileSync(log, "utf8");
  const count = (re: RegExp) => (text.match(re) ?? []).length;
  return count(/ - INFO - Register worker /g) - count(/ - INFO - Remove worker /g);
}

export function clusterProblems(r: ClusterReport): string[] {
  const at = `dask cluster ${r.owner} ${r.name}`;
  const down = r.processes.filter((p) => p.user === undefined).map((p) => `${p.instance} on ${p.server}`);
  const workers = r.processes.filter((p) => p.role === "worker").length;
  return [
    ...(down.length > 0 ? [`${at}: not running: ${down.join(", ")}`] : []),
    ...(r.registeredWorkers !== undefined && r.registeredWorkers < workers
      ? [`${at}: the scheduler has ${r.registeredWorkers} of ${workers} workers registered`]
      : []),
  ];
}

export function formatCluster(r: ClusterReport): string[] {
  const workers = r.processes.filter((p) => p.role === "worker").length;
  return [
    `dask cluster ${r.owner} ${r.name}: ${r.registeredWorkers ?? "?"} of ${workers} worker(s) registered with the scheduler`,
    ...r.processes.map(
      (p) =>
        `  ${p.role.padEnd(9)} ${p.instance} ${p.server} :${p.port}  ${p.user ? `running as ${p.user}` : "NOT RUNNING"}`,
    ),
  ];
}
