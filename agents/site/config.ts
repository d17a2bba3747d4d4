/**
 * The site services' configuration (a JSON file on the management server). Holds paths and
 * public facts only: the site's keys are made and kept in its state directory.
 */
import { readFileSync } from "node:fs";

export interface SiteConfig {
  readonly dataCenter: string;
  readonly domain: string;
  /** Where the issuing CA key, the site's TLS key, tokens (hashed), servers and alerts live (0700). */
  readonly stateDir: string;
  /** @default "0.0.0.0" — every address of the management server */
  readonly listenHost?: string;
  /** @default 8443 */
  readonly port?: number;
  /** Addresses the site certificate names (management and data network addresses). */
  readonly addresses: readonly string[];
  /** The data center's IP networks: the issuing CA's name constraints. */
  readonly networks: readonly string[];
  /** Path of the root CA certificate (public). */
  readonly rootCertificatePath: string;
  /** Directory of hardened images, `<sha256>.tar.zst`. */
  readonly imageDir: string;
  /** sha256 of the image installers must write. */
  readonly imageSha256: string;
  /** CNs of operator (user) certificates allowed on /admin routes. */
  readonly operators: readonly string[];
  /** @default 900 */
  readonly tokenTtlSeconds?: number;
  /** What installed nodes need to join the platform, handed to them in the netboot configuration. */
  readonly node?: NodeBootstrap;
}

/** Public facts a new node gets at install: no secret, nothing the node could not be told in the open. */
export interface NodeBootstrap {
  /** Control-plane endpoints (https://<dns name>:port). */
  readonly controlPlaneEndpoints?: readonly string[];
  /** Name → address lines for the node's /etc/hosts (the control plane is reached by DNS name). */
  readonly hosts?: Readonly<Record<string, string>>;
  /** The node's trust.json: who may sign desired state and releases. */
  readonly trust?: unknown;
  /** Pre-created partitions in the image. */
  readonly partitions?: number;
}

export function loadSiteConfig(path: string): SiteConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`site config ${path}: cannot read it as JSON (${(err as Error).message})`);
  }
  const c = parsed as Partial<SiteConfig>;
  const missing = (
    [
      "dataCenter",
      "domain",
      "stateDir",
      "addresses",
      "networks",
      "rootCertificatePath",
      "imageDir",
      "imageSha256",
      "operators",
    ] as const
  ).filter((k) => c[k] === undefined);
  if (missing.length > 0)
    throw new Error(`site config ${path}: missing ${missing.join(", ")}; see docs/site.md for the format`);
  return c as SiteConfig;
}

export const siteHostname = (c: Pick<SiteConfig, "dataCenter" | "domain">) =>
  `site.${c.dataCenter}.${c.domain}`;
