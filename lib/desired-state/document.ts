/**
 * The per-computer desired-state document: which instances one computer must run, versioned, with a
 * validity window. Its instances are lib/contracts' InstanceSpec, so the stack resource that writes
 * the document and the node agent that reads it share one definition.
 */
import type { InstanceSpec } from "../contracts/resources";
import { parseSemVer } from "../release";

export const DESIRED_STATE_KIND = "zeroroot.desired-state/v1";

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
  if (!Number.isSafeInteger(args.validitySeconds) || args.validitySeconds <= 0) {
    throw new DesiredStateError(
      "validitySeconds",
      `got ${args.validitySeconds}; must be a positive whole number of seconds`,
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
  if (!Array.isArray(o.instances))
    throw new DesiredStateError(`${where}.instances`, "expected a list (use [] for none)");
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

function checkInstance(v: unknown, where: string): void {
  const o = obj(v, where);
  str(o.name, `${where}.name`, ID, "letters, digits, . _ -");
  const rel = obj(o.release, `${where}.release`);
  str(rel.name, `${where}.release.name`, /^[a-z0-9][a-z0-9._-]{0,62}$/, "a release name");
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
  if (!Array.isArray(o.programs)) throw new DesiredStateError(`${where}.programs`, "expected a list");
  o.programs.forEach((p, i) => {
    const prog = obj(p, `${where}.programs[${i}]`);
    str(
      prog.name,
      `${where}.programs[${i}].name`,
      /^[a-z0-9][a-z0-9_-]*$/,
      "lower-case letters, digits, _ -",
    );
    if (typeof prog.command !== "string" || prog.command === "")
      throw new DesiredStateError(`${where}.programs[${i}].command`, "must be a non-empty command");
    notRoot(prog.user, prog.uid, `${where}.programs[${i}]`);
    if (prog.user !== user.name || prog.uid !== user.uid) {
      throw new DesiredStateError(
        `${where}.programs[${i}].user`,
        `runs as ${String(prog.user)} (${String(prog.uid)}); it must run as the partition user ${user.name} (${user.uid})`,
      );
    }
    if (!Array.isArray(prog.capabilities) || typeof prog.noNewPrivileges !== "boolean") {
      throw new DesiredStateError(
        `${where}.programs[${i}]`,
        "needs capabilities (a list) and noNewPrivileges (true/false)",
      );
    }
  });
  if (!Array.isArray(o.endpoints)) throw new DesiredStateError(`${where}.endpoints`, "expected a list");
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
  const badParam = Object.keys(params).find((k) => typeof params[k] !== "string");
  if (badParam !== undefined)
    throw new DesiredStateError(`${where}.parameters.${badParam}`, "parameter values are strings");
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
    throw new DesiredStateError(where, `expected an object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

function str(v: unknown, where: string, re: RegExp, allowed: string): void {
  if (typeof v !== "string" || !re.test(v))
    throw new DesiredStateError(where, `got ${JSON.stringify(v)}; must be ${allowed}`);
}
