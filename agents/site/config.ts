/**
 * The site services' configuration (a JSON file on the management server). Holds paths and
 * public facts only: the site's keys are made and kept in its state directory. Validated whole at
 * start: a bad entry is refused with its key path, what was received and what is allowed.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { PROTOTYPE_KEYS } from "../../lib/fleet/safety";
import { FRESHNESS_LIMITS } from "../../lib/desired-state";
import { escapeForMessage, parseIdentity, type Identity } from "../../lib/pki";

const label = /^[a-z][a-z0-9-]{0,62}$/;
const domain = /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const path = z.string().min(1).max(4096);

const nodeBootstrapSchema = z.strictObject({
  controlPlaneEndpoints: z
    .array(z.url({ protocol: /^https$/ }))
    .max(16)
    .optional(),
  // Keys are host names: the pattern keeps out "__proto__" and anything else that is not one.
  hosts: z.record(z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/), z.string().max(64)).optional(),
  trust: z.unknown().optional(),
  partitions: z.int().min(0).max(1000).optional(),
  requireFreshness: z.boolean().optional(),
});

const siteConfigSchema = z.strictObject({
  dataCenter: z.string().regex(label, { error: "a data center id: lower-case letters, digits, -" }),
  domain: z.string().regex(domain, { error: "a lower-case DNS domain such as zeroroot.example" }),
  stateDir: path,
  listenHost: z.string().max(64).optional(),
  port: z.int().min(0).max(65_535).optional(),
  addresses: z
    .array(z.union([z.ipv4(), z.ipv6()]))
    .min(1)
    .max(16),
  networks: z.array(z.string().max(64)).max(16),
  rootCertificatePath: path,
  imageDir: path,
  imageSha256: z.string().regex(/^[0-9a-f]{64}$/, { error: "a sha256 in lower-case hex" }),
  serverImages: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, { error: "a server id" }),
      z.string().regex(/^[0-9a-f]{64}$/, { error: "a sha256 in lower-case hex" }),
    )
    .optional(),
  operators: z.array(z.string().max(200)).max(256),
  crls: z.array(path).max(64).optional(),
  strictCrl: z.boolean().optional(),
  tokenTtlSeconds: z.int().min(60).max(86_400).optional(),
  node: nodeBootstrapSchema.optional(),
  timestamp: z
    .strictObject({ lifetimeSeconds: z.int().min(1).max(FRESHNESS_LIMITS.lifetimeSeconds) })
    .optional(),
});

/** The configuration file's shape. */
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
  /**
   * The image of each server's role (lib/hardening roles.ts), by server id: a storage server gets
   * the storage image, a compute server the compute image. @default - every server gets imageSha256
   */
  readonly serverImages?: Readonly<Record<string, string>>;
  /** Identities allowed on /admin routes, as `<data center>/user/<name>` (e.g. `dc1/user/operator`). */
  readonly operators: readonly string[];
  /**
   * CRL files (PEM or DER) of the CAs whose certificates the site accepts: the CA that issues the
   * operators' certificates, and the root's (revoked issuing CAs). Re-read when they change. The
   * site's own issuing CA's CRL is made by the site and needs no entry. @default - none
   */
  readonly crls?: readonly string[];
  /** Whether a CRL past its next update refuses the callers it covers. @default false - reported in the log */
  readonly strictCrl?: boolean;
  /** @default 900 */
  readonly tokenTtlSeconds?: number;
  /** What installed nodes need to join the platform, handed to them in the netboot configuration. */
  readonly node?: NodeBootstrap;
  /**
   * The timestamp service (agents/site/timestamp.ts), run when `node` names the control plane and the
   * trust list. lifetimeSeconds: life of each freshness statement. @default - 86400 (24 h), the most nodes accept
   */
  readonly timestamp?: { readonly lifetimeSeconds: number };
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
  /**
   * Whether the node applies a desired-state document only while this site's timestamp role vouches
   * for it (agent.json controlPlane.requireFreshness). @default false - tolerated until the site publishes
   */
  readonly requireFreshness?: boolean;
}

/** A configuration checked whole, with the operator identities parsed. */
export interface ResolvedSiteConfig extends SiteConfig {
  readonly operatorIdentities: readonly Identity[];
}

export class SiteConfigError extends Error {
  override readonly name = "SiteConfigError";
}

/** Validates a configuration object; `where` names its source (a file path) in messages. */
export function resolveSiteConfig(value: unknown, where: string): ResolvedSiteConfig {
  // zod drops a "__proto__" key without a word; such a key is refused here, with its path.
  const bad = prototypeKeyPath(value, []);
  if (bad)
    throw new SiteConfigError(
      `site config ${where}: ${keyPath(bad)}: the key is not allowed (none of ${PROTOTYPE_KEYS.join(", ")} is a setting); remove it`,
    );
  const r = siteConfigSchema.safeParse(value, { reportInput: true });
  if (!r.success) {
    const lines = r.error.issues
      .slice(0, 10)
      .map(
        (i) =>
          `  ${keyPath(i.path)}: ${escapeForMessage(i.message).replace(/\\"/g, '"')}${received(i.input)}`,
      );
    throw new SiteConfigError(
      `site config ${where} is not valid:\n${lines.join("\n")}\nsee docs/site.md for the format`,
    );
  }
  const operatorIdentities = r.data.operators.map((text, i) => {
    const id = parseIdentity(text);
    if (typeof id === "string")
      throw new SiteConfigError(
        `site config ${where}: operators[${i}]: ${id}; fix: list operators as "<data center>/user/<name>"`,
      );
    if (id.kind !== "user")
      throw new SiteConfigError(
        `site config ${where}: operators[${i}]: "${escapeForMessage(text)}" is a ${id.kind} identity; operators are people with user certificates, written "<data center>/user/<name>"`,
      );
    return id;
  });
  return { ...(r.data as SiteConfig), operatorIdentities };
}

export function loadSiteConfig(file: string): ResolvedSiteConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new SiteConfigError(`site config ${file}: cannot read it as JSON (${(err as Error).message})`);
  }
  return resolveSiteConfig(parsed, file);
}

function prototypeKeyPath(v: unknown, at: PropertyKey[]): PropertyKey[] | undefined {
  if (v === null || typeof v !== "object" || at.length > 8) return undefined;
  for (const [k, child] of Object.entries(v)) {
    if (PROTOTYPE_KEYS.includes(k)) return [...at, k];
    const found = prototypeKeyPath(child, [...at, Array.isArray(v) ? Number(k) : k]);
    if (found) return found;
  }
  return undefined;
}

function received(input: unknown): string {
  if (input === undefined || (typeof input === "object" && input !== null)) return "";
  const text = escapeForMessage(String(input));
  return ` (received ${typeof input === "string" ? `"${text.slice(0, 80)}"` : text.slice(0, 80)})`;
}

function keyPath(p: readonly PropertyKey[]): string {
  if (p.length === 0) return "(top level)";
  return p
    .map((k, i) => (typeof k === "number" ? `[${k}]` : `${i ? "." : ""}${escapeForMessage(String(k))}`))
    .join("");
}

export const siteHostname = (c: Pick<SiteConfig, "dataCenter" | "domain">) =>
  `site.${c.dataCenter}.${c.domain}`;
