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
import { currentLabId, labDirOf, labOctetsOf, labPrefixOf } from "./lab-id";

export const REPO_ROOT = resolve(__dirname, "../..");
/** The current lab's folder (lab-id.ts); read each time, so `--lab-id` set before a command applies. */
export const labDir = (): string => labDirOf(currentLabId());
export const DOMAIN = "zeroroot.test";
export const SITE_PORT = 8443;
/** uid of the site services of data center k (1-based): 2050 + k. Servers use 2000 (agent) and 2100+. */
export const SITE_UID_BASE = 2050;
export const BMC_USER = "zeroroot";
/** Partitions pre-created in the lab image (zr-p000…): instances a lab server can run. */
export const LAB_PARTITIONS = 8;
/** Bounds of `--servers-per-dc`. */
export const MAX_SERVERS_PER_DC = 50;

export interface LabSecrets {
  readonly stackPassphrase: string;
  readonly ceremonyPassphrase: string;
  readonly bmcPasswords: Record<string, string>;
}

export interface LabLayout {
  readonly id: string;
  readonly dir: string;
  readonly serversPerDc: number;
  /** Servers per data center the lab was asked for last time (undefined for a new lab). */
  readonly previousServersPerDc?: number;
  readonly plan: LabNetPlan;
  readonly secrets: LabSecrets;
  readonly paths: ReturnType<typeof labPaths>;
}

export function labPaths(dir = labDir()) {
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

/** The net plan of the current lab with n servers per data center. */
export const labNetPlan = (n: number): LabNetPlan =>
  defaultNetPlan({
    dataCenters: 3,
    serversPerDc: n,
    prefix: labPrefixOf(currentLabId()),
    octets: labOctetsOf(currentLabId()),
  });

/** The size recorded by the last `lab up`, if any. */
export function savedServersPerDc(dir = labDir()): number | undefined {
  const file = labPaths(dir).layout;
  if (!existsSync(file)) return undefined;
  const n = (JSON.parse(readFileSync(file, "utf8")) as { serversPerDc?: unknown }).serversPerDc;
  return Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_SERVERS_PER_DC
    ? (n as number)
    : undefined;
}

/**
 * The lab's layout: the size asked, else the size it has, else 2. A different size than last time
 * is allowed: `lab up` grows or shrinks the lab to it (converge.ts, servers.ts).
 */
export function labLayout(serversPerDc?: number, dir = labDir()): LabLayout {
  const paths = labPaths(dir);
  // Readable by the sites' unprivileged users (root.pem, images); secrets and pki stay 0600/0700.
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  if (dirname(dir).endsWith(".zeroroot")) chmodSync(dirname(dir), 0o755);
  for (const d of [paths.sites, paths.images]) {
    mkdirSync(d, { recursive: true, mode: 0o755 });
    chmodSync(d, 0o755);
  }
  const saved = savedServersPerDc(dir);
  const n = serversPerDc ?? saved ?? 2;
  const plan = labNetPlan(n);
  writeFileSync(paths.layout, JSON.stringify({ serversPerDc: n }) + "\n");
  const secrets = loadSecrets(paths.secrets, plan);
  return { id: currentLabId(), dir, serversPerDc: n, previousServersPerDc: saved, plan, secrets, paths };
}

/** An existing lab's layout without writing anything (for `status`, `down` and child processes). */
export function readLabLayout(dir = labDir()): LabLayout | undefined {
  const paths = labPaths(dir);
  const n = savedServersPerDc(dir);
  if (n === undefined || !existsSync(paths.secrets)) return undefined;
  const plan = labNetPlan(n);
  const secrets = JSON.parse(readFileSync(paths.secrets, "utf8")) as LabSecrets;
  return { id: currentLabId(), dir, serversPerDc: n, plan, secrets, paths };
}

function loadSecrets(file: string, plan: LabNetPlan): LabSecrets {
  const old = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as LabSecrets) : undefined;
  const pw = () => randomBytes(12).toString("base64url").slice(0, 16);
  const secrets: LabSecrets = {
    stackPassphrase: old?.stackPassphrase ?? randomBytes(18).toString("base64url"),
    ceremonyPassphrase: old?.ceremonyPassphrase ?? randomBytes(18).toString("base64url"),
    // Passwords of servers no longer in the plan are kept: a shrunk lab may grow again.
    bmcPasswords: {
      ...old?.bmcPasswords,
      ...Object.fromEntries(
        plan.dataCenters.flatMap((d) => d.servers.map((s) => [s.id, old?.bmcPasswords[s.id] ?? pw()])),
      ),
    },
  };
  writeFileSync(file, JSON.stringify(secrets, null, 1), { mode: 0o600 });
  return secrets;
}

export const siteUid = (dcIndex: number) => SITE_UID_BASE + dcIndex;
/** Namespace names of the current lab (the same as lab/net's netNames for its plan). */
export const mgmtNs = (dc: string) => `${labPrefixOf(currentLabId())}${dc}-mgmt`;
export const bmcNs = (dc: string) => `${labPrefixOf(currentLabId())}${dc}-bmc`;
export const serverNs = (id: string) => `${labPrefixOf(currentLabId())}${id}`;
