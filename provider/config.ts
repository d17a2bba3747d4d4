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
import { X509Certificate } from "node:crypto";
import { z } from "zod";
import { controlPlaneEndpointProblem, MAX_CONTROL_PLANE_ENDPOINTS } from "../lib/controlplane/client-api";
import { describeValue } from "../lib/fleet/issues";
import { certificateSha256 } from "../lib/pki/fingerprint";
import {
  HTTPS_ORIGIN_ALLOWED,
  SERVER_NAME_ALLOWED,
  httpsOriginSchema,
  serverNameSchema,
} from "../lib/site/address";
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
  if (news.rootCertificatePem !== undefined) checkRootPem(c, news.rootCertificatePem);
  for (const key of ["controlPlaneEndpoints", "siteUrl", "siteServerName"] as const)
    if (news[key] !== undefined) checkAddress(c, news, key);
  return c.result(news);
}

const MAX_PEM_LENGTH = 65_536;
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----/g;

/** Why `pem` cannot be the platform root, or undefined: parsed by Node's X.509, never trusted as text. */
function rootPemProblem(pem: string): string | undefined {
  if (pem.length === 0) return "empty";
  if (pem.length > MAX_PEM_LENGTH) return "longer than 64 KiB";
  const blocks = pem.match(CERTIFICATE_BLOCK)?.length ?? 0;
  if (blocks === 0) return "not a PEM certificate (no -----BEGIN CERTIFICATE----- block)";
  if (blocks > 1) return `${blocks} certificates; give the root alone`;
  let x: X509Certificate;
  try {
    x = new X509Certificate(pem);
  } catch (e) {
    return `it does not parse as X.509 (${(e as Error).message})`;
  }
  if (!x.ca) return "not a CA certificate (basicConstraints cA is not set)";
  if (!x.checkIssued(x) || !x.verify(x.publicKey))
    return "not self-signed: give the platform root, not an issuing CA";
  return undefined;
}

/**
 * The root, judged: what was received is shown (bounded, escaped), except a private key pasted by
 * mistake, which is named and never echoed.
 */
function checkRootPem(c: Checker, v: unknown): void {
  const isKey = typeof v === "string" && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v);
  const why = isKey
    ? "a private key, which never leaves its machine"
    : typeof v === "string"
      ? rootPemProblem(v)
      : "not a string";
  if (why === undefined) return;
  const received = isKey ? "a private key (not shown)" : describeValue(v);
  c.fail(
    "rootCertificatePem",
    `rootCertificatePem is ${received}; ${why}; allowed: the platform root CA certificate as one PEM block of at most 64 KiB (the global stack's rootCertificatePem output); correct the zeroroot provider's rootCertificatePem`,
  );
}

/** An https origin the control-plane client also takes (lib/controlplane controlPlaneEndpointProblem). */
const controlPlaneEndpoint = z.string({ error: "not a string" }).superRefine((v, ctx) => {
  const problem = controlPlaneEndpointProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const ADDRESS_RULES = {
  siteUrl: { schema: httpsOriginSchema, allowed: HTTPS_ORIGIN_ALLOWED, arg: "site.url" },
  siteServerName: { schema: serverNameSchema, allowed: SERVER_NAME_ALLOWED, arg: "site.serverName" },
  controlPlaneEndpoints: {
    schema: z
      .array(controlPlaneEndpoint, { error: "not a list" })
      .min(1, { error: "an empty list" })
      .max(MAX_CONTROL_PLANE_ENDPOINTS, { error: `more than ${MAX_CONTROL_PLANE_ENDPOINTS} endpoints` })
      .refine((a) => new Set(a).size === a.length, { error: "it names an endpoint twice" }),
    allowed: `a list of 1-${MAX_CONTROL_PLANE_ENDPOINTS} distinct client URLs, each https://<DNS name>:<port> such as https://etcd.dc1.example.com:2379, lower case, with no user, password, path, query or fragment`,
    arg: "controlPlaneEndpoints",
  },
} as const;
export type AddressKey = keyof typeof ADDRESS_RULES;

/** Where a provider's address is set: the component's argument, or the stack's config key. */
const providerFix = (key: AddressKey) =>
  `correct the zeroroot provider's ${key} (ZerorootProvider's ${ADDRESS_RULES[key].arg}, or stack config zeroroot:${key})`;

/**
 * Judges where the site or the control plane is (lib/site/address.ts), for the provider's
 * configuration and for a resource that gives its own (`fix` says what to correct). A failure
 * names the key (and the list index), the value received (escaped and bounded; hidden when it may
 * hold a password, i.e. has an `@`), why it is refused, what is allowed and how to fix it.
 */
export function checkAddress(c: Checker, p: Props, key: AddressKey, fix = providerFix(key)): void {
  const { schema, allowed } = ADDRESS_RULES[key];
  const r = schema.safeParse(p[key]);
  if (r.success) return;
  const judged = new Set<string>();
  for (const issue of r.error.issues) {
    const index = issue.path.find((s) => typeof s === "number");
    const where = index === undefined ? key : `${key}[${index}]`;
    // zod goes on after a wrong type (a string is "too long" for a list): the first reason is the one.
    if (judged.has(where)) continue;
    judged.add(where);
    const received = index === undefined ? p[key] : (p[key] as unknown[])[index];
    const hidden = typeof received === "string" && received.includes("@");
    const why = received === undefined ? "missing" : issue.message;
    c.fail(key, `${where} is ${describeValue(received, hidden)}; ${why}; allowed: ${allowed}; ${fix}`);
  }
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
