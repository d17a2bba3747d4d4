/**
 * The plugin's configuration (Configure): what is the same for every resource of a stack, so that
 * state holds it once — in the provider's own state — rather than once per resource. Today: the
 * platform's root certificate. A resource names the root it was made against by its SHA-256
 * (`rootCertificateSha256`, 64 characters instead of a ~0.7 KB PEM per resource); the plugin finds
 * the PEM here. A resource that carries `rootCertificatePem` itself (state from before, a program
 * without a configured provider) keeps working with it.
 *
 * `controlPlaneEndpoints` serves `pulumi import` (the engine's Read for an import carries the id
 * and nothing else, so a DesiredState or SoftwareRelease found by id is read from the control plane
 * named here, docs/provider.md "Import") and every DesiredState; `siteUrl` and `siteServerName`
 * (the data center's site services) every BmcServer. A resource that leaves such a key out uses the
 * configured value (`configuredFacts`, filled in by provider.ts for the handler, never stored with
 * the resource); one that gives it keeps its own.
 */
import { certificateSha256 } from "../lib/pki/fingerprint";
import { Checker, shown } from "./checks";
import type { CheckFailure, Props } from "./types";

/** The provider's configuration keys (schema.json `config.variables`). */
export interface ProviderConfig {
  /** The platform root certificate (PEM). */
  readonly rootCertificatePem?: string;
  /** Client URLs of the control-plane members, for imports. */
  readonly controlPlaneEndpoints?: readonly string[];
  /** https://address:port of the data center's site services (BmcServer). */
  readonly siteUrl?: string;
  /** The name in the site's certificate (BmcServer). */
  readonly siteServerName?: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const roots = new Map<string, string>();
let endpoints: readonly string[] | undefined;
let facts: ConfiguredFacts = {};

/** Normalises and judges provider configuration (CheckConfig). */
export function checkConfig(news: Props): { inputs: Props; failures: CheckFailure[] } {
  const c = new Checker(news);
  if (news.rootCertificatePem !== undefined) {
    c.pem("rootCertificatePem");
    if (c.failures.length === 0) {
      try {
        certificateSha256(String(news.rootCertificatePem));
      } catch (e) {
        c.fail("rootCertificatePem", `rootCertificatePem does not parse as X.509: ${(e as Error).message}`);
      }
    }
  }
  if (news.controlPlaneEndpoints !== undefined) c.texts("controlPlaneEndpoints", 9);
  if (news.siteUrl !== undefined) c.text("siteUrl", 2048);
  if (news.siteServerName !== undefined) c.text("siteServerName", 253);
  return c.result(news);
}

/** Applies configuration (Configure). Keys the plugin does not know (the project's own config) are ignored. */
export function configure(config: Props): void {
  // Judged first: a refused configuration leaves the previous one in force.
  const failures = checkConfig(config).failures;
  if (failures.length > 0) throw new Error(failures.map((f) => f.reason).join("; "));
  roots.clear();
  if (typeof config.rootCertificatePem === "string")
    roots.set(certificateSha256(config.rootCertificatePem), config.rootCertificatePem);
  endpoints = Array.isArray(config.controlPlaneEndpoints)
    ? (config.controlPlaneEndpoints as string[])
    : undefined;
  facts = factsOf(config);
}

/** The facts a resource may leave to the configuration (docs/provider.md, "Provider configuration"). */
export const CONFIGURED_KEYS = [
  "rootCertificateSha256",
  "controlPlaneEndpoints",
  "siteUrl",
  "siteServerName",
] as const;
export type ConfiguredKey = (typeof CONFIGURED_KEYS)[number];
export type ConfiguredFacts = Partial<Record<ConfiguredKey, unknown>>;

/** What a (checked) configuration gives a resource that leaves a key out: the root by its digest. */
export function factsOf(config: Props): ConfiguredFacts {
  const facts: ConfiguredFacts = {};
  if (typeof config.rootCertificatePem === "string")
    facts.rootCertificateSha256 = certificateSha256(config.rootCertificatePem);
  if (Array.isArray(config.controlPlaneEndpoints))
    facts.controlPlaneEndpoints = [...config.controlPlaneEndpoints];
  if (typeof config.siteUrl === "string") facts.siteUrl = config.siteUrl;
  if (typeof config.siteServerName === "string") facts.siteServerName = config.siteServerName;
  return facts;
}

/** The configured facts of this plugin process (set by Configure). */
export function configuredFacts(): ConfiguredFacts {
  return { ...facts };
}

/**
 * What an import by id alone needs from the configuration: the control plane and the root; an
 * error naming the provider keys to set otherwise.
 */
export function importContext(what: string): {
  controlPlaneEndpoints: string[];
  rootCertificateSha256: string;
} {
  const root = [...roots.keys()][0];
  if (!endpoints || !root)
    throw new Error(
      `${what} cannot be imported by id alone: the engine's Read carries only the id; set the zeroroot provider's rootCertificatePem and controlPlaneEndpoints (e.g. pulumi config set --path zeroroot:controlPlaneEndpoints[0] https://etcd.dc1.example:2379), or declare it in the program`,
    );
  return { controlPlaneEndpoints: [...endpoints], rootCertificateSha256: root };
}

/** The root a resource was made against: its own PEM, else the configured root its digest names. */
export function rootOf(p: Props): string {
  if (typeof p.rootCertificatePem === "string") return p.rootCertificatePem;
  const sha = String(p.rootCertificateSha256);
  const pem = roots.get(sha);
  if (pem) return pem;
  throw new Error(
    roots.size === 0
      ? `rootCertificateSha256 is ${shown(sha)} but the zeroroot provider has no rootCertificatePem configured; give the provider the platform root (stacks/program.ts does: new ZerorootProvider(name, {rootCertificatePem}))`
      : `rootCertificateSha256 is ${shown(sha)} but the zeroroot provider's root has SHA-256 ${[...roots.keys()].join(", ")}; use one root for the provider and its resources`,
  );
}

/** `check`'s rule: a resource names its root by PEM or by a digest the provider can resolve. */
export function checkRoot(c: Checker, p: Props): void {
  if (p.rootCertificatePem !== undefined) return c.pem("rootCertificatePem");
  if (typeof p.rootCertificateSha256 !== "string" || !SHA256_HEX.test(p.rootCertificateSha256))
    return c.fail(
      "rootCertificateSha256",
      `rootCertificateSha256 is ${shown(p.rootCertificateSha256)}; give the SHA-256 (64 lowercase hex) of the root certificate's DER, or rootCertificatePem`,
    );
  try {
    rootOf(p);
  } catch (e) {
    c.fail("rootCertificateSha256", (e as Error).message);
  }
}
