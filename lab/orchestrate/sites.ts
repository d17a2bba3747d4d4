/**
 * Starts each data center's site services on its management namespace, as that site's own
 * unprivileged user with no capabilities: the one command an operator runs on a management server.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  rmSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { SiteConfig } from "../../agents/site/config";
import { DOMAIN, LAB_PARTITIONS, mgmtNs, REPO_ROOT, SITE_PORT, siteUid, type LabLayout } from "./layout";
import { controlPlaneEndpoints } from "./controlplane";
import { LAB_OPERATOR, labSignerIdentity, signSiteCa } from "./pki";
import type { NodeBootstrap } from "../../agents/site/config";

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
): Promise<SiteHandle[]> {
  mkdirSync(lab.paths.logs, { recursive: true });
  const handles: SiteHandle[] = [];
  for (let k = 1; k <= lab.plan.dataCenters.length; k++) {
    const dc = lab.plan.dataCenters[k - 1].id;
    const uid = siteUid(k);
    const { config, path } = writeSiteConfig(lab, k, rootPath, imageSha256, crls);
    const logPath = join(lab.paths.logs, `site-${dc}.log`);
    handles.push({ dc, configPath: path, logPath });
    const pidFile = join(lab.paths.sites, dc, "site.pid");
    if (alive(pidFile)) {
      // Running with an older image digest would hand out the wrong image: restart to reload.
      if (readFileSync(pidFile + ".sha", "utf8") === imageSha256) continue;
      stopSite(lab, dc);
    }
    if (!existsSync(join(config.stateDir, "issuing.crt"))) {
      const csrPath = runAsSite(dc, uid, ["init", "--config", path]).trim();
      const certPath = join(lab.paths.sites, dc, "issuing-signed.crt");
      writeFileSync(certPath, signSiteCa(lab, dc, readFileSync(csrPath, "utf8")), { mode: 0o644 });
      runAsSite(dc, uid, ["install-ca", "--config", path, "--cert", certPath]);
      log(`${dc}: site issuing CA made on the management server, signed by the root`);
    }
    const out = openSync(logPath, "a");
    const argv = [...asSite(dc, uid), TSX, SITE_MAIN, "serve", "--config", path];
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ["ignore", out, out] });
    child.unref();
    writeFileSync(pidFile, String(child.pid));
    writeFileSync(pidFile + ".sha", imageSha256);
    await waitForLog(logPath, `serving ${dc}`, 60_000);
    log(`${dc}: site services serving on ${mgmtNs(dc)} :${SITE_PORT} as uid ${uid}`);
  }
  return handles;
}

export function stopSite(lab: LabLayout, dc: string): void {
  const pidFile = join(lab.paths.sites, dc, "site.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8"));
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    /* already gone */
  }
  rmSync(pidFile, { force: true });
}

function alive(pidFile: string): boolean {
  if (!existsSync(pidFile)) return false;
  try {
    process.kill(Number(readFileSync(pidFile, "utf8")), 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForLog(file: string, text: string, timeoutMs: number): Promise<void> {
  const start = existsSync(file) ? readFileSync(file, "utf8").length : 0;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(file) && readFileSync(file, "utf8").slice(start).includes(text)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`site did not start within ${timeoutMs / 1000}s; see ${file}`);
}
