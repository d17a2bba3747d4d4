/**
 * The per-computer desired-state document: which instances one computer must run, versioned, with a
 * validity window. Its instances are lib/contracts' InstanceSpec, so the stack resource that writes
 * the document and the node agent that reads it share one definition.
 */
import type { InstanceSpec } from "../contracts/resources";
import { MAX_PARTITIONS } from "../hardening/partitions";
import { isReservedName, parseSemVer } from "../release";

export const DESIRED_STATE_KIND = "zeroroot.desired-state/v1";

/** Bounds of a desired-state document, each defined here once; a node checks them before any other work. */
export const DESIRED_STATE_LIMITS = {
  /** Bytes of the signed document, checked before parsing (1,000 instances of 2 KiB fit). */
  documentBytes: 4 << 20,
  /** Nesting depth of its JSON (a genuine document nests 6 deep). */
  depth: 16,
  /** One instance per partition, and a node has at most this many partitions. */
  instances: MAX_PARTITIONS,
  programs: 64,
  endpoints: 64,
  capabilities: 64,
  parameters: 256,
  /** Characters of a parameter value or a program command. */
  valueLength: 4096,
  /**
   * Longest validity (expiresAt - issuedAt) of a document, 400 days. Currency is not the document's
   * job any more: the data center's timestamp service vouches for it on a short period (freshness.ts),
   * so a frozen or replayed control plane is refused within a day. The document's own expiry is the
   * backstop if the timestamp key is stolen too; it may be long because no human must re-deploy on
   * its schedule. 400 days: a yearly re-sign with a margin; a document cannot usefully outlive its
   * signer's software certificate (365 days) anyway, the node checks that certificate's validity too.
   */
  validitySeconds: 400 * 86_400,
  /** A document is due for re-signing once this fraction of its validity has passed (see renewalDue). */
  renewAfterFraction: 0.75,
  /** Tolerated clock difference for an issuedAt in the node's future. */
  clockSkewSeconds: 300,
} as const;

export interface DesiredStateDocument {
  readonly kind: typeof DESIRED_STATE_KIND;
  /** The server id, which is also the CN of the computer's certificate. */
  readonly computerId: string;
  readonly dataCenter: string;
  /** Monotonic per computer: 1, 2, 3… A node never applies a version at or below its last one (see verify). */
  readonly version: number;
  /** ISO-8601 UTC instants. */
  readonly issuedAt: string;
  readonly expiresAt: string;
  readonly instances: readonly InstanceSpec[];
}

export class DesiredStateError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "DesiredStateError";
  }
}

export interface BuildArgs {
  readonly computerId: string;
  readonly dataCenter: string;
  readonly version: number;
  readonly instances: readonly InstanceSpec[];
  /** Lifetime of the signed document. */
  readonly validitySeconds: number;
  /** @default - the current time */
  readonly now?: Date;
}

/** Makes a document (to be signed) and checks it. */
export function buildDesiredState(args: BuildArgs): DesiredStateDocument {
  const max = DESIRED_STATE_LIMITS.validitySeconds;
  if (
    !Number.isSafeInteger(args.validitySeconds) ||
    args.validitySeconds <= 0 ||
    args.validitySeconds > max
  ) {
    throw new DesiredStateError(
      "validitySeconds",
      `got ${args.validitySeconds}; must be a whole number of seconds from 1 to ${max} (400 days): nodes refuse a longer validity`,
    );
  }
  const now = args.now ?? new Date();
  const second = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;
  return validateDesiredState({
    kind: DESIRED_STATE_KIND,
    computerId: args.computerId,
    dataCenter: args.dataCenter,
    version: args.version,
    issuedAt: second(now),
    expiresAt: second(new Date(now.getTime() + args.validitySeconds * 1000)),
    instances: args.instances,
  });
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const DOC_KEYS = ["kind", "computerId", "dataCenter", "version", "issuedAt", "expiresAt", "instances"];

/** Checks shape and meaning; throws DesiredStateError naming the first offending field. */
export function validateDesiredState(d: unknown, where = "document"): DesiredStateDocument {
  const o = obj(d, where);
  const extra = Object.keys(o).find((k) => !DOC_KEYS.includes(k));
  if (extra)
    throw new DesiredStateError(`${where}.${extra}`, `unknown field; allowed: ${DOC_KEYS.join(", ")}`);
  if (o.kind !== DESIRED_STATE_KIND)
    throw new DesiredStateError(
      `${where}.kind`,
      `got ${JSON.stringify(o.kind)}; must be "${DESIRED_STATE_KIND}"`,
    );
  str(o.computerId, `${where}.computerId`, ID, "a server id (letters, digits, . _ -)");
  str(o.dataCenter, `${where}.dataCenter`, ID, "a data-center name such as dc1");
  if (!Number.isSafeInteger(o.version) || (o.version as number) < 1)
    throw new DesiredStateError(
      `${where}.version`,
      `got ${JSON.stringify(o.version)}; must be an integer >= 1`,
    );
  for (const k of ["issuedAt", "expiresAt"]) {
    if (typeof o[k] !== "string" || !INSTANT.test(o[k] as string) || isNaN(Date.parse(o[k] as string))) {
      throw new DesiredStateError(
        `${where}.${k}`,
        `got ${JSON.stringify(o[k])}; must be an ISO-8601 UTC instant, e.g. 2026-01-01T00:00:00Z`,
      );
    }
  }
  if (Date.parse(o.expiresAt as string) <= Date.parse(o.issuedAt as string))
    throw new DesiredStateError(`${where}.expiresAt`, "must be after issuedAt");
  const L = DESIRED_STATE_LIMITS;
  if (!Array.isArray(o.instances) || o.instances.length > L.instances)
    throw new DesiredStateError(
      `${where}.instances`,
      `expected a list (use [] for none) of at most ${L.instances} instances (one per partition)`,
    );
  o.instances.forEach((inst, i) => checkInstance(inst, `${where}.instances[${i}]`));
  for (const [key, what] of [
    ["name", "name"],
    ["user", "partition user"],
    ["uid", "partition uid"],
  ] as const) {
    const seen = new Set<unknown>();
    for (const inst of o.instances as InstanceSpec[]) {
      const v = key === "name" ? inst.name : inst.partition[key];
      if (seen.has(v))
        throw new DesiredStateError(
          `${where}.instances`,
          `${what} ${JSON.stringify(v)} is used twice; each instance has its own partition user`,
        );
      seen.add(v);
    }
  }
  return o as unknown as DesiredStateDocument;
}

/** Why a document's validity window is longer than a node accepts, or undefined. */
export function validityProblem(doc: DesiredStateDocument): string | undefined {
  const seconds = (Date.parse(doc.expiresAt) - Date.parse(doc.issuedAt)) / 1000;
  const max = DESIRED_STATE_LIMITS.validitySeconds;
  if (seconds <= max) return undefined;
  return `the document is valid for ${Math.round(seconds)} s (issuedAt ${doc.issuedAt}, expiresAt ${doc.expiresAt}); at most ${max} s (400 days) are accepted: sign it with a shorter validitySeconds`;
}

/**
 * True once a document is in the last quarter of its validity: the node alerts
 * (`desired-state-expiring`) and the DesiredState resource's `read` (pulumi refresh, drift detection)
 * reports it, so that the next `pulumi up` re-signs it. Never decided by `diff`, so a preview stays
 * the same whatever day it runs.
 */
export function renewalDue(doc: Pick<DesiredStateDocument, "issuedAt" | "expiresAt">, now: Date): boolean {
  const issued = Date.parse(doc.issuedAt);
  const expires = Date.parse(doc.expiresAt);
  if (isNaN(issued) || isNaN(expires)) return true;
  return now.getTime() >= issued + (expires - issued) * DESIRED_STATE_LIMITS.renewAfterFraction;
}

function checkInstance(v: unknown, where: string): void {
  const o = obj(v, where);
  str(o.name, `${where}.name`, ID, "letters, digits, . _ -");
  const rel = obj(o.release, `${where}.release`);
  str(rel.name, `${where}.release.name`, /^[a-z0-9][a-z0-9._-]{0,62}$/, "a release name");
  for (const [at, name] of [
    ["name", o.name],
    ["release.name", rel.name],
  ] as const)
    if (isReservedName(name as string))
      throw new DesiredStateError(`${where}.${at}`, `"${String(name)}" is reserved; choose another name`);
  if (typeof rel.version !== "string" || !parseSemVer(rel.version))
    throw new DesiredStateError(
      `${where}.release.version`,
      `got ${JSON.stringify(rel.version)}; must be a semantic version`,
    );
  str(
    rel.manifestDigest,
    `${where}.release.manifestDigest`,
    /^sha256:[0-9a-f]{64}$/,
    "sha256:<64 hex> (`zeroroot release verify` prints it)",
  );
  const part = obj(o.partition, `${where}.partition`);
  const user = notRoot(part.user, part.uid, `${where}.partition`);
  const L = DESIRED_STATE_LIMITS;
  if (!Array.isArray(o.programs) || o.programs.length > L.programs)
    throw new DesiredStateError(`${where}.programs`, `expected a list of at most ${L.programs} programs`);
  o.programs.forEach((p, i) => {
    const prog = obj(p, `${where}.programs[${i}]`);
    str(
      prog.name,
      `${where}.programs[${i}].name`,
      /^[a-z0-9][a-z0-9_-]*$/,
      "lower-case letters, digits, _ -",
    );
    if (typeof prog.command !== "string" || prog.command === "" || prog.command.length > L.valueLength)
      throw new DesiredStateError(
        `${where}.programs[${i}].command`,
        `must be a non-empty command of at most ${L.valueLength} characters`,
      );
    notRoot(prog.user, prog.uid, `${where}.programs[${i}]`);
    if (prog.user !== user.name || prog.uid !== user.uid) {
      throw new DesiredStateError(
        `${where}.programs[${i}].user`,
        `runs as ${String(prog.user)} (${String(prog.uid)}); it must run as the partition user ${user.name} (${user.uid})`,
      );
    }
    if (
      !Array.isArray(prog.capabilities) ||
      prog.capabilities.length > L.capabilities ||
      typeof prog.noNewPrivileges !== "boolean"
    ) {
      throw new DesiredStateError(
        `${where}.programs[${i}]`,
        "needs capabilities (a list) and noNewPrivileges (true/false)",
      );
    }
  });
  if (!Array.isArray(o.endpoints) || o.endpoints.length > L.endpoints)
    throw new DesiredStateError(`${where}.endpoints`, `expected a list of at most ${L.endpoints} endpoints`);
  if (typeof o.holdsData !== "boolean")
    throw new DesiredStateError(`${where}.holdsData`, "must be true or false");
  const mps = o.minimumPersistenceSeconds;
  if (!Number.isSafeInteger(mps) || (mps as number) < 0)
    throw new DesiredStateError(
      `${where}.minimumPersistenceSeconds`,
      `got ${JSON.stringify(mps)}; must be a whole number of seconds >= 0`,
    );
  if (o.holdsData && mps === 0)
    throw new DesiredStateError(
      `${where}.minimumPersistenceSeconds`,
      "a data-holding instance needs a minimum persistence time > 0 (DESIGN invariant 6)",
    );
  const params = obj(o.parameters, `${where}.parameters`);
  const names = Object.keys(params);
  if (names.length > L.parameters)
    throw new DesiredStateError(`${where}.parameters`, `${names.length} parameters; at most ${L.parameters}`);
  const badParam = names.find(
    (k) => typeof params[k] !== "string" || (params[k] as string).length > L.valueLength,
  );
  if (badParam !== undefined)
    throw new DesiredStateError(
      `${where}.parameters.${badParam}`,
      `parameter values are strings of at most ${L.valueLength} characters`,
    );
}

function notRoot(user: unknown, uid: unknown, where: string): { name: string; uid: number } {
  if (typeof user !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(user))
    throw new DesiredStateError(`${where}.user`, `got ${JSON.stringify(user)}; must be a user name`);
  if (!Number.isSafeInteger(uid) || (uid as number) < 1)
    throw new DesiredStateError(`${where}.uid`, `got ${JSON.stringify(uid)}; must be a uid > 0`);
  if (user === "root")
    throw new DesiredStateError(`${where}.user`, 'nothing runs as "root" (DESIGN invariant 2)');
  return { name: user, uid: uid as number };
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new DesiredStateError(where, `expected an object, got ${shown(v)}`);
  return v as Record<string, unknown>;
}

function str(v: unknown, where: string, re: RegExp, allowed: string): void {
  if (typeof v !== "string" || !re.test(v))
    throw new DesiredStateError(where, `got ${shown(v)}; must be ${allowed}`);
}

/** A received value for a message: JSON cut at 80 characters (a hostile value may be huge). */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
