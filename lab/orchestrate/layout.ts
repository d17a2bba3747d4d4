/**
 * The lab's fixed facts: where it keeps its files, its domain, users, ports, and the per-run
 * secrets (BMC passwords, the lab's stack passphrase, the ceremony passphrase), generated once
 * and kept 0600 in the lab directory so `lab up` is idempotent. The lab is a test bed: these
 * files stand in for what an operator would keep in a vault.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { defaultNetPlan, type LabNetPlan } from "../net";

export const REPO_ROOT = resolve(__dirname, "../..");
export const LAB_DIR = process.env.ZEROROOT_LAB_DIR ?? join(REPO_ROOT, ".zeroroot", "lab");
export const DOMAIN = "zeroroot.test";
export const SITE_PORT = 8443;
/** uid of the site services of data center k (1-based): 2050 + k. Servers use 2000 (agent) and 2100+. */
export const SITE_UID_BASE = 2050;
export const BMC_USER = "zeroroot";
/** Partitions pre-created in the lab image (zr-p000…): instances a lab server can run. */
export const LAB_PARTITIONS = 8;

export interface LabSecrets {
  readonly stackPassphrase: string;
  readonly ceremonyPassphrase: string;
  readonly bmcPasswords: Record<string, string>;
}

export interface LabLayout {
  readonly dir: string;
  readonly serversPerDc: number;
  readonly plan: LabNetPlan;
  readonly secrets: LabSecrets;
  readonly paths: ReturnType<typeof labPaths>;
}

export function labPaths(dir = LAB_DIR) {
  return {
    dir,
    layout: join(dir, "layout.json"),
    secrets: join(dir, "secrets.json"),
    pki: join(dir, "pki"),
    operator: { cert: join(dir, "operator", "operator.crt"), key: join(dir, "operator", "operator.key") },
    stacks: join(dir, "stacks"),
    state: join(dir, "deploy-state"),
    sites: join(dir, "sites"),
    images: join(dir, "images"),
    bmc: join(dir, "bmc"),
    logs: join(dir, "logs"),
    netboot: join(dir, "netboot"),
  };
}

/** The lab's layout: read back when it exists (same size asked or none), made otherwise. */
export function labLayout(serversPerDc?: number, dir = LAB_DIR): LabLayout {
  const paths = labPaths(dir);
  // Readable by the sites' unprivileged users (root.pem, images); secrets and pki stay 0600/0700.
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  if (dirname(dir).endsWith(".zeroroot")) chmodSync(dirname(dir), 0o755);
  for (const d of [paths.sites, paths.images]) {
    mkdirSync(d, { recursive: true, mode: 0o755 });
    chmodSync(d, 0o755);
  }
  const saved = existsSync(paths.layout)
    ? (JSON.parse(readFileSync(paths.layout, "utf8")) as { serversPerDc: number })
    : undefined;
  const n = serversPerDc ?? saved?.serversPerDc ?? 2;
  if (saved && saved.serversPerDc !== n) {
    throw new Error(
      `the lab in ${dir} has ${saved.serversPerDc} servers per data center; run \`zeroroot lab down\` before asking for ${n}`,
    );
  }
  const plan = defaultNetPlan({ dataCenters: 3, serversPerDc: n });
  writeFileSync(paths.layout, JSON.stringify({ serversPerDc: n }) + "\n");
  const secrets = loadSecrets(paths.secrets, plan);
  return { dir, serversPerDc: n, plan, secrets, paths };
}

function loadSecrets(file: string, plan: LabNetPlan): LabSecrets {
  const old = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as LabSecrets) : undefined;
  const pw = () => randomBytes(12).toString("base64url").slice(0, 16);
  const secrets: LabSecrets = {
    stackPassphrase: old?.stackPassphrase ?? randomBytes(18).toString("base64url"),
    ceremonyPassphrase: old?.ceremonyPassphrase ?? randomBytes(18).toString("base64url"),
    bmcPasswords: Object.fromEntries(
      plan.dataCenters.flatMap((d) => d.servers.map((s) => [s.id, old?.bmcPasswords[s.id] ?? pw()])),
    ),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 1), { mode: 0o600 });
  return secrets;
}

export const siteUid = (dcIndex: number) => SITE_UID_BASE + dcIndex;
export const mgmtNs = (dc: string) => `zr-${dc}-mgmt`;
export const bmcNs = (dc: string) => `zr-${dc}-bmc`;
export const serverNs = (id: string) => `zr-${id}`;
