/**
 * Starts each data center's site services on its management namespace, as that site's own
 * unprivileged user with no capabilities: the one command an operator runs on a management server.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  rmSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { SiteConfig } from "../../agents/site/config";
import { DOMAIN, LAB_PARTITIONS, mgmtNs, REPO_ROOT, SITE_PORT, siteUid, type LabLayout } from "./layout";
import { controlPlaneEndpoints } from "./controlplane";
import { LAB_OPERATOR, labSignerIdentity, signSiteCa } from "./pki";
import type { NodeBootstrap } from "../../agents/site/config";
import {
  ensureSupervised,
  findProcesses,
  programState,
  shutdownSupervisor,
  startProgram,
  supervisorPid,
  type SupervisedProgram,
} from "../supervise";

/** What every lab node learns at install: where the control plane is and whom to trust. */
function nodeBootstrap(lab: LabLayout): NodeBootstrap {
  const cp = controlPlaneEndpoints(lab);
  const dcs = lab.plan.dataCenters.map((d) => d.id);
  const trust = {
    kind: "zeroroot.trust/v1",
    signers: [
      { identity: labSignerIdentity("state"), desiredState: dcs },
      { identity: labSignerIdentity("release"), releases: ["*"] },
    ],
  };
  // The lab's sites run the timestamp role, so its nodes insist on fresh statements (docs/agent.md).
  return {
    controlPlaneEndpoints: cp.endpoints,
    hosts: cp.hosts,
    trust,
    partitions: LAB_PARTITIONS,
    requireFreshness: true,
  };
}

const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");
/** tsx as a loader of node itself: one process per site (the tsx command is a parent plus a node child). */
const TSX_LOADER = join(REPO_ROOT, "node_modules", "tsx", "dist", "loader.mjs");
const SITE_MAIN = join(REPO_ROOT, "agents", "site", "main.ts");
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface SiteHandle {
  readonly dc: string;
  readonly configPath: string;
  readonly logPath: string;
}

/** The command prefix that runs something as the site's user in its namespace, unprivileged. */
function asSite(dc: string, uid: number): string[] {
  return [
    "ip",
    "netns",
    "exec",
    mgmtNs(dc),
    "setpriv",
    `--reuid=${uid}`,
    `--regid=${uid}`,
    "--clear-groups",
    "--no-new-privs",
    "--inh-caps=-all",
    "--bounding-set=-all",
    "env",
    "-i",
    `PATH=${PATH}`,
    `HOME=/nonexistent`,
    "LANG=C.UTF-8",
  ];
}

function writeSiteConfig(
  lab: LabLayout,
  dcIndex: number,
  rootPath: string,
  imageSha256: string,
  crls: readonly string[],
  serverImages?: Readonly<Record<string, string>>,
): { config: SiteConfig; path: string } {
  const d = lab.plan.dataCenters[dcIndex - 1];
  const base = join(lab.paths.sites, d.id);
  const uid = siteUid(dcIndex);
  mkdirSync(join(base, "state"), { recursive: true, mode: 0o700 });
  chmodSync(base, 0o755);
  chownSync(join(base, "state"), uid, uid);
  const config: SiteConfig = {
    dataCenter: d.id,
    domain: DOMAIN,
    stateDir: join(base, "state"),
    port: SITE_PORT,
    addresses: [d.managementServer.managementAddress, d.managementServer.dataAddress],
    networks: [d.managementSubnet, d.dataSubnet],
    rootCertificatePath: rootPath,
    imageDir: lab.paths.images,
    imageSha256,
    // each server the image of its role (image.ts ensureLabImages, stacks.ts labServerRole)
    ...(serverImages ? { serverImages } : {}),
    operators: [LAB_OPERATOR],
    crls,
    node: nodeBootstrap(lab),
  };
  const path = join(base, "site.json");
  writeFileSync(path, JSON.stringify(config, null, 2) + "\n", { mode: 0o644 });
  return { config, path };
}

function runAsSite(dc: string, uid: number, args: string[]): string {
  const r = spawnSync(asSite(dc, uid)[0], [...asSite(dc, uid).slice(1), TSX, SITE_MAIN, ...args], {
    encoding: "utf8",
  });
  if (r.status !== 0)
    throw new Error(
      `site ${dc} ${args[0]} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(0, 400)}`,
    );
  return r.stdout;
}

/** Starts (or finds running) the site services of every data center; returns when they serve. */
export async function ensureSites(
  lab: LabLayout,
  rootPath: string,
  imageSha256: string,
  crls: readonly string[],
  log: (m: string) => void,
  /** The image of each server's role, by server id. @default - imageSha256 for every server */
  serverImages?: Readonly<Record<string, string>>,
): Promise<SiteHandle[]> {
  mkdirSync(lab.paths.logs, { recursive: true });
  const handles: SiteHandle[] = [];
  for (let k = 1; k <= lab.plan.dataCenters.length; k++) {
    const dc = lab.plan.dataCenters[k - 1].id;
    const uid = siteUid(k);
    const { config, path } = writeSiteConfig(lab, k, rootPath, imageSha256, crls, serverImages);
    const logPath = join(lab.paths.logs, `site-${dc}.log`);
    handles.push({ dc, configPath: path, logPath });
    if (!existsSync(join(config.stateDir, "issuing.crt"))) {
      const csrPath = runAsSite(dc, uid, ["init", "--config", path]).trim();
      const certPath = join(lab.paths.sites, dc, "issuing-signed.crt");
      writeFileSync(certPath, signSiteCa(lab, dc, readFileSync(csrPath, "utf8")), { mode: 0o644 });
      runAsSite(dc, uid, ["install-ca", "--config", path, "--cert", certPath]);
      log(`${dc}: site issuing CA made on the management server, signed by the root`);
    }
    const program = siteProgram(lab, dc, uid, path, logPath);
    // A site started before supervision (an older lab) holds the port: stop it first.
    if (!supervisorPid(program.dir)) await killUnsupervisedSite(lab, dc, path);
    let from = existsSync(logPath) ? statSync(logPath).size : 0;
    // A new configuration (another image digest, new CRLs) changes the supervisor's: it restarts.
    if (!(await ensureSupervised(program))) {
      if ((await settled(program)) === "RUNNING") continue;
      from = existsSync(logPath) ? statSync(logPath).size : 0;
      await startProgram(program.dir, program.name); // it had stopped, or its supervisor gave up
    }
    await waitForLog(logPath, from, `serving ${dc}`, 60_000);
    log(`${dc}: site services serving on ${mgmtNs(dc)} :${SITE_PORT} as uid ${uid}`);
  }
  return handles;
}

/** Where the site's supervisord lives and what it calls the site. */
export const siteSupervisor = (lab: LabLayout, dc: string) => ({
  name: `site-${dc}`,
  dir: join(lab.paths.sites, dc, "supervisor"),
});

/**
 * The site's supervisord (lab/supervise): as the site's uid in its management namespace, it restarts
 * the site whenever it dies. The configuration's digest is in the program's environment, so a changed
 * site.json changes the supervisor's configuration and the site is restarted to read it.
 */
export function siteProgram(
  lab: LabLayout,
  dc: string,
  uid: number,
  configPath: string,
  logPath: string,
): SupervisedProgram {
  const digest = createHash("sha256").update(readFileSync(configPath)).digest("hex");
  return {
    ...siteSupervisor(lab, dc),
    uid,
    namespace: mgmtNs(dc),
    argv: [process.execPath, "--import", TSX_LOADER, SITE_MAIN, "serve", "--config", configPath],
    env: { PATH, HOME: "/nonexistent", LANG: "C.UTF-8", ZR_SITE_CONFIG_SHA256: digest },
    logFile: logPath,
    cwd: join(lab.paths.sites, dc),
    // The site serves within a few seconds; one that exits within 10 s failed to start.
    startSecs: 10,
    startRetries: 5,
  };
}

/** The program's state once it is no longer starting or restarting (bounded by its start retries). */
async function settled(p: SupervisedProgram): Promise<string> {
  const end = Date.now() + 90_000;
  for (;;) {
    const { state } = await programState(p.dir, p.name);
    if (!["STARTING", "BACKOFF"].includes(state) || Date.now() > end) return state;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The site's serving process, read from /proc (a restart gives it a new pid), or undefined. */
export function sitePid(lab: LabLayout, dc: string): number | undefined {
  return findProcesses(["serve", "--config", join(lab.paths.sites, dc, "site.json")])[0];
}

/** Stops a site and its supervisor; also a site started before supervision. Idempotent. */
export async function stopSite(lab: LabLayout, dc: string): Promise<void> {
  await shutdownSupervisor(siteSupervisor(lab, dc).dir);
  await killUnsupervisedSite(lab, dc, join(lab.paths.sites, dc, "site.json"));
}

async function killUnsupervisedSite(lab: LabLayout, dc: string, configPath: string): Promise<void> {
  const pidFile = join(lab.paths.sites, dc, "site.pid");
  if (existsSync(pidFile)) {
    try {
      process.kill(-Number(readFileSync(pidFile, "utf8")), "SIGTERM");
    } catch {
      /* already gone */
    }
    rmSync(pidFile, { force: true });
    rmSync(pidFile + ".sha", { force: true });
  }
  const end = Date.now() + 10_000;
  let left = findProcesses(["serve", "--config", configPath]);
  for (const pid of left) process.kill(pid, "SIGTERM");
  while (left.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    left = findProcesses(["serve", "--config", configPath]);
  }
  for (const pid of left) process.kill(pid, "SIGKILL");
}

async function waitForLog(file: string, from: number, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(file) && readFileSync(file).subarray(from).toString("utf8").includes(text)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`site did not start within ${timeoutMs / 1000}s; see ${file}`);
}
