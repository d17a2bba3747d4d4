/**
 * `zeroroot lab status`: what is really there, read now — the control plane from etcd itself, each
 * site service by asking it, each server from its BMC, its namespace (is PID 1 running?) and its
 * agent's last report — never from what `lab up` recorded. `up` is true only when nothing is down;
 * `problems` names each thing that is (the CLI exits 1 then: README, "The lab").
 */
import { spawnSync } from "node:child_process";
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { IpmitoolBmcClient, spawnRunner } from "../../lib/ipmi";
import { parseCertificate } from "../../lib/pki";
import { controlPlaneStatus, type ControlPlaneStatus } from "../controlplane";
import { inNamespace } from "../net";
import { serverPaths, serverProcesses, serverStatus } from "../server";
import { controlPlaneDir } from "./controlplane";
import { labLayout, mgmtNs, readLabLayout, serverNs, type LabLayout } from "./layout";
import { agentReportTimes, siteReports, type SiteReport } from "./status-services";
import { datastoreReports, type DatastoreReport } from "./status-datastores";
import { clusterProblems, labClusterReports, type ClusterReport } from "../releases/dask/status";
import { labBmcLogin } from "../bmc/login";
import { IMAGE_PATHS, specHash } from "../../lib/hardening";
import { labImageSpec } from "./image-spec";
import { labServerRole } from "./stacks";

/** An agent reports every 15 s (lib/agent/config.ts); four missed reports make it stale. */
export const STALE_REPORT_SECONDS = 60;

export interface ServerReport {
  readonly id: string;
  readonly dataCenter: string;
  /** up: powered on, PID 1 running from disk with its services started, agent report fresh. */
  readonly state: "up" | "down";
  readonly problems: readonly string[];
  readonly power: string;
  readonly bootDevice: string;
  /** PID 1 is alive in the server's PID namespace. */
  readonly running: boolean;
  readonly phase?: string;
  readonly certificate?: { readonly subject: string; readonly issuer: string; readonly notAfter: string };
  readonly agentUser?: string;
  /** Seconds since its agent's last status report in the control plane; undefined if none was read. */
  readonly agentReportAgeSeconds?: number;
  readonly listeningTcpPorts: readonly number[];
  readonly port22Listening: boolean;
  /** Programs running in partitions (instances of signed releases), as seen in the server's /proc. */
  readonly instances: readonly { readonly user: string; readonly uid: number; readonly command: string }[];
  readonly error?: string;
}

export interface LabStatus {
  readonly lab: string;
  readonly checkedAt: string;
  /** Nothing is down. */
  readonly up: boolean;
  /** One line per thing that is down, degraded or stale. */
  readonly problems: readonly string[];
  readonly controlPlane: ControlPlaneStatus | { readonly error: string };
  readonly sites: readonly SiteReport[];
  readonly servers: readonly ServerReport[];
  /** Datastore instances and their health (status-datastores.ts). */
  readonly datastores: readonly DatastoreReport[];
  /** The lab user's Dask cluster (lab/releases/dask/status.ts). */
  readonly compute: readonly ClusterReport[];
}

export async function labStatus(lab: LabLayout = readLabLayout() ?? labLayout()): Promise<LabStatus> {
  const [controlPlane, sites, reports] = await Promise.all([
    controlPlaneStatus(controlPlaneDir(lab)).catch((e: unknown) => ({ error: (e as Error).message })),
    siteReports(lab),
    agentReportTimes(lab),
  ]);
  const servers = await Promise.all(
    lab.plan.dataCenters.flatMap((d) =>
      d.servers.map((s) => serverReport(lab, d.id, s.id, s.bmcAddress, reports)),
    ),
  );
  const datastores = datastoreReports(lab);
  const compute = labClusterReports(lab, servers);
  const problems = [
    ...controlPlaneProblems(controlPlane),
    ...sites.filter((s) => !s.answers).map((s) => siteProblem(s)),
    ...servers.flatMap((s) => s.problems.map((p) => `server ${s.id}: ${p}`)),
    ...datastores.problems,
    ...compute.flatMap(clusterProblems),
  ];
  return {
    lab: lab.id || "(yours)",
    checkedAt: new Date().toISOString(),
    up: problems.length === 0,
    problems,
    controlPlane,
    sites,
    servers,
    datastores: datastores.reports,
    compute,
  };
}

/**
 * A server installed from an image its role no longer has (a `git pull` that changed the role's
 * packages, say): it would run, and fail later for want of what the new image carries. The disk's
 * image-spec.json names the spec it was built from. Reinstalling one server in place is not built
 * (docs/lab.md), so the fix named is a purge.
 */
export function staleImageProblems(lab: LabLayout, dc: string, id: string): string[] {
  const plan = lab.plan.dataCenters.find((d) => d.id === dc);
  if (!plan) return [];
  const wanted = specHash(labImageSpec(labServerRole(plan, id)));
  const installed = diskSpecHash(join(serverPaths(id, lab.dir).disk, IMAGE_PATHS.specFile.slice(1)));
  if (installed === wanted) return [];
  const shown = installed?.slice(0, 12) ?? "unreadable";
  return [
    `installed from image spec ${shown}, but its role's image is now ${wanted.slice(0, 12)} (lib/hardening changed): \`zeroroot lab down --purge\` then \`zeroroot lab up\` reinstalls every server (the lab's data goes with it)`,
  ];
}

/** Largest image-spec.json read from a node's disk (the real one is ~16 KB). */
const MAX_SPEC_FILE_BYTES = 1 << 20;

/**
 * The specHash a server's disk says it was built from, or undefined. The disk is the node's: the
 * file may be a symlink (to a host file, or a device that never ends), huge or garbage, so it is
 * opened without following links, must be a regular file of bounded size, and only a hash of the
 * right shape is believed.
 */
function diskSpecHash(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_SPEC_FILE_BYTES) return undefined;
    const text = readFileSync(fd, "utf8");
    const h = (JSON.parse(text) as { specHash?: unknown } | null)?.specHash;
    return typeof h === "string" && /^[0-9a-f]{64}$/.test(h) ? h : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function controlPlaneProblems(cp: LabStatus["controlPlane"]): string[] {
  if ("error" in cp) return [`control plane: cannot be read: ${cp.error}`];
  const down = cp.members.filter((m) => !m.healthy).map((m) => `${m.dc} (${m.supervisor}: ${m.detail})`);
  if (cp.health === "healthy") return [];
  return [
    `control plane ${cp.health === "down" ? "DOWN (no quorum)" : "degraded"}: member(s) not healthy: ${down.join("; ")}`,
  ];
}

function siteProblem(s: SiteReport): string {
  const gaveUp =
    s.supervisor === "FATAL" ? "; its supervisor gave up (crash loop): run `zeroroot lab up`" : "";
  return `site ${s.dataCenter}: ${s.running ? "running but " : "not running, "}${s.detail} [supervisor ${s.supervisor}]${gaveUp}`;
}

async function serverReport(
  lab: LabLayout,
  dc: string,
  id: string,
  bmcAddress: string,
  reports: Awaited<ReturnType<typeof agentReportTimes>>,
): Promise<ServerReport> {
  const base = {
    id,
    dataCenter: dc,
    listeningTcpPorts: [] as number[],
    port22Listening: false,
    instances: [] as ServerReport["instances"],
  };
  const reportAt = "at" in reports ? reports.at.get(id) : undefined;
  const age = reportAt ? Math.max(0, Math.round((Date.now() - Date.parse(reportAt)) / 1000)) : undefined;
  try {
    const bmc = new IpmitoolBmcClient(
      {
        serverId: id,
        address: bmcAddress,
        ...labBmcLogin(lab, id),
        cipherSuite: 3,
      },
      { runner: spawnRunner(inNamespace(mgmtNs(dc))), retry: { retries: 1 } },
    );
    const [power, boot] = [await bmc.getPower(), await bmc.getBootDevice()];
    const st = serverStatus(id, { labDir: lab.dir });
    const onDisk = st.running && st.device === "disk";
    const ports = st.running ? listening(id) : [];
    const problems = [
      ...(power !== "on" ? [`its BMC reports power ${power}`] : []),
      ...(power === "on" && !st.running ? ["its BMC reports power on but its PID 1 is not running"] : []),
      ...(st.running && st.device !== "disk" ? [`it runs its netboot image, not its disk`] : []),
      ...(onDisk && st.failure ? [`its PID 1 refused to start services: ${st.failure}`] : []),
      ...(onDisk && !st.failure && !st.ready ? ["its PID 1 has not started its services"] : []),
      ...agentProblems(reports, age),
      ...(onDisk ? staleImageProblems(lab, dc, id) : []),
    ];
    return {
      ...base,
      state: problems.length === 0 ? "up" : "down",
      problems,
      power,
      bootDevice: boot.device,
      running: st.running,
      phase: sitePhase(lab, dc, id),
      certificate: certificateOf(lab, id),
      agentUser: onDisk ? agentUser(lab, id) : undefined,
      agentReportAgeSeconds: age,
      listeningTcpPorts: ports,
      port22Listening: ports.includes(22),
      instances: onDisk ? instancesOf(lab, id) : [],
    };
  } catch (err) {
    const error = (err as Error).message;
    return {
      ...base,
      state: "down",
      problems: [`cannot be read: ${error.split("\n")[0]}`],
      power: "unknown",
      bootDevice: "unknown",
      running: serverStatus(id, { labDir: lab.dir }).running,
      agentReportAgeSeconds: age,
      error,
    };
  }
}

/** A stale or missing report is a problem; an unreadable control plane is reported once, as itself. */
function agentProblems(reports: Awaited<ReturnType<typeof agentReportTimes>>, age: number | undefined) {
  if ("error" in reports) return [];
  if (age === undefined) return ["its agent has never reported to the control plane"];
  return age > STALE_REPORT_SECONDS ? [`its agent's last report is ${age} s old`] : [];
}

function certificateOf(lab: LabLayout, id: string): ServerReport["certificate"] {
  const file = join(serverPaths(id, lab.dir).disk, "etc/zeroroot/computer.crt");
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  const leaf = parseCertificate(text);
  const issuer = parseCertificate(text.slice(text.indexOf("-----END CERTIFICATE-----") + 25));
  return {
    subject: `CN=${leaf.commonName}`,
    issuer: `CN=${issuer.commonName}`,
    notAfter: leaf.notAfter.toISOString(),
  };
}

/** Processes of partition users (uid 2100 and up) other than their supervisord: the instances' programs. */
function instancesOf(lab: LabLayout, id: string): ServerReport["instances"] {
  const names = userNames(lab, id);
  return serverProcesses(id, { labDir: lab.dir })
    .filter((p) => p.uids[0] >= 2100 && !/supervisord/.test(p.cmdline))
    .map((p) => ({ user: names.get(p.uids[0]) ?? `uid ${p.uids[0]}`, uid: p.uids[0], command: p.cmdline }));
}

function userNames(lab: LabLayout, id: string): Map<number, string> {
  const passwd = readFileSync(join(serverPaths(id, lab.dir).disk, "etc/passwd"), "utf8");
  return new Map(
    passwd
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(":"))
      .map((f) => [Number(f[2]), f[0]] as [number, string]),
  );
}

/** The user the node agent runs as, by name from the server's own /etc/passwd. */
function agentUser(lab: LabLayout, id: string): string | undefined {
  const agent = serverProcesses(id, { labDir: lab.dir }).find((p) => p.cmdline.includes("agent.js"));
  if (!agent) return undefined;
  const passwd = readFileSync(join(serverPaths(id, lab.dir).disk, "etc/passwd"), "utf8");
  const line = passwd.split("\n").find((l) => l.split(":")[2] === String(agent.uids[0]));
  return line ? line.split(":")[0] : `uid ${agent.uids[0]}`;
}

function listening(id: string): number[] {
  const r = spawnSync("ip", ["netns", "exec", serverNs(id), "ss", "-Hltn"], { encoding: "utf8" });
  if (r.status !== 0) return [];
  return [
    ...new Set(
      r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => Number(l.trim().split(/\s+/)[3]?.split(":").pop())),
    ),
  ]
    .filter((n) => !Number.isNaN(n))
    .sort((a, b) => a - b);
}

function sitePhase(lab: LabLayout, dc: string, id: string): string | undefined {
  const file = join(lab.paths.sites, dc, "state", "registry.json");
  if (!existsSync(file)) return undefined;
  const reg = JSON.parse(readFileSync(file, "utf8")) as { servers: Record<string, { phase: string }> };
  return reg.servers[id]?.phase;
}
