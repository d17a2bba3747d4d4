/**
 * Desired-state freshness, on the model of TUF's timestamp role. The operator's signed document is
 * long-lived (it must survive an outage of the control plane); on its own it cannot tell a node that it
 * is still the current one, so a frozen or replayed control plane would go unnoticed until it expires.
 * Each data center's site services therefore re-sign, on a short period, a statement "document
 * (computer, version, digest) is current as of T, until T + short" with their own timestamp key.
 *
 * Signer decision: the statement is signed by the data center's timestamp identity
 * (dcN, service, `timestamp.dcN.<domain>`), a service certificate of the site's online CA whose key is
 * made on the management server and never leaves it. A node accepts it only from its own data center
 * (verifyIdentity with expect), and only under that exact name: the site's TLS identity or any other
 * service cannot vouch. A service certificate is not a software signer, and it need not be: the
 * statement names a document by digest and cannot change what runs; the worst a stolen timestamp key
 * does is keep a frozen document looking fresh, which the operator's own signature, version rule and
 * expiry still bound.
 */
import { formatIdentity, type Identity } from "../pki";
import {
  parseBoundedJson,
  signCanonical,
  verifyEnvelope,
  type DetachedSignature,
  type DocumentFailure,
  type EnvelopeFailure,
  type Signer,
} from "../release";
import { DesiredStateError, DESIRED_STATE_LIMITS } from "./document";

export const FRESHNESS_KIND = "zeroroot.desired-state-freshness/v1";

/** The first label of a data center's timestamp identity: `timestamp.<dc>.<domain>`. */
export const TIMESTAMP_LABEL = "timestamp";

/** The name of a data center's timestamp service identity, given its zone `<dc>.<domain>`. */
export const timestampName = (zone: string): string => `${TIMESTAMP_LABEL}.${zone}`;

/** Bounds and periods of freshness statements, each defined here once. */
export const FRESHNESS_LIMITS = {
  /**
   * The "short period": the longest life of a statement a node accepts, and the life the site gives
   * them, 24 hours. A frozen control plane is noticed (alert, nothing new applied) within it.
   */
  lifetimeSeconds: 86_400,
  /**
   * The site re-signs every statement after a quarter of its life (6 hours): a site may miss one
   * renewal (restart, short outage) before a node sees its statement expire.
   */
  renewFraction: 0.25,
  /** Bytes of a signed statement, checked before parsing (a genuine one is about 2.5 KB). */
  statementBytes: 16 << 10,
  /** Nesting depth of its JSON (a genuine one nests 3 deep). */
  depth: 6,
} as const;

export interface FreshnessStatement {
  readonly kind: typeof FRESHNESS_KIND;
  readonly computerId: string;
  readonly dataCenter: string;
  /** The document vouched for: its version and desiredStateDigest (the digest the node keeps). */
  readonly version: number;
  readonly digest: string;
  /** ISO-8601 UTC instants; expiresAt - issuedAt is at most FRESHNESS_LIMITS.lifetimeSeconds. */
  readonly issuedAt: string;
  readonly expiresAt: string;
}

export interface SignedFreshness {
  readonly statement: FreshnessStatement;
  readonly signature: DetachedSignature;
}

/** The document a statement must name: what the node verified and is about to apply. */
export interface FreshnessTarget {
  readonly computerId: string;
  readonly version: number;
  readonly digest: string;
}

export type FreshnessRefusal =
  | "missing"
  | DocumentFailure
  | EnvelopeFailure
  | "wrong-signer"
  | "wrong-computer"
  | "wrong-version"
  | "wrong-digest"
  | "lifetime-too-long"
  | "expired"
  | "not-yet-valid"
  | "replayed";

export type FreshnessVerification =
  | {
      readonly ok: true;
      readonly statement: FreshnessStatement;
      /** The signer as `dc1/service/timestamp.dc1.<domain>`. */
      readonly signer: string;
    }
  | { readonly ok: false; readonly reason: FreshnessRefusal; readonly detail: string };

export interface VerifyFreshnessOptions {
  readonly root: string | Buffer;
  readonly crls?: readonly (string | Buffer)[];
  /** This node, from its own verified computer certificate: only its data center's timestamp identity counts. */
  readonly node: Identity;
  /** The verified document the statement must name. */
  readonly target: FreshnessTarget;
  /**
   * issuedAt of the last statement this node accepted: an older one is a replay (TUF: a timestamp
   * never goes back). @default - none accepted yet
   */
  readonly lastIssuedAt?: string;
  /** @default - DESIRED_STATE_LIMITS.clockSkewSeconds */
  readonly maxClockSkewSeconds?: number;
  /** @default - the current time */
  readonly now?: Date;
}

export interface FreshnessArgs extends FreshnessTarget {
  readonly dataCenter: string;
  /** @default - FRESHNESS_LIMITS.lifetimeSeconds */
  readonly lifetimeSeconds?: number;
  /** @default - the current time */
  readonly now?: Date;
}

/** Makes and signs a statement. Throws DesiredStateError for a lifetime out of bounds, SigningError for a bad key. */
export function signFreshness(args: FreshnessArgs, signer: Signer): SignedFreshness {
  const life = args.lifetimeSeconds ?? FRESHNESS_LIMITS.lifetimeSeconds;
  if (!Number.isSafeInteger(life) || life < 1 || life > FRESHNESS_LIMITS.lifetimeSeconds)
    throw new DesiredStateError(
      "lifetimeSeconds",
      `got ${life}; must be a whole number of seconds from 1 to ${FRESHNESS_LIMITS.lifetimeSeconds}: nodes refuse a longer-lived freshness statement`,
    );
  const now = args.now ?? new Date();
  const statement: FreshnessStatement = {
    kind: FRESHNESS_KIND,
    computerId: args.computerId,
    dataCenter: args.dataCenter,
    version: args.version,
    digest: args.digest,
    issuedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + life * 1000).toISOString(),
  };
  const problem = shapeProblem(statement);
  if (problem) throw new DesiredStateError("statement", problem);
  return { statement, signature: signCanonical(statement, signer) };
}

/** verifyFreshness of a statement received as text (etcd): bounded before it is parsed; undefined is "missing". */
export function verifyFreshnessText(
  text: string | Buffer | undefined,
  opts: VerifyFreshnessOptions,
): FreshnessVerification {
  if (text === undefined)
    return fail(
      "missing",
      `no freshness statement for version ${opts.target.version}; the data center's timestamp service has not vouched for it`,
    );
  const L = FRESHNESS_LIMITS;
  const parsed = parseBoundedJson(
    text,
    { maxBytes: L.statementBytes, maxDepth: L.depth },
    "the freshness statement",
  );
  return parsed.ok ? verifyFreshness(parsed.value, opts) : fail(parsed.reason, parsed.detail);
}

/** Everything a node checks before it lets a document count as current. Never throws for bad input. */
export function verifyFreshness(signed: unknown, opts: VerifyFreshnessOptions): FreshnessVerification {
  const now = opts.now ?? new Date();
  const s = (typeof signed === "object" && signed !== null ? signed : {}) as Partial<SignedFreshness>;
  const shape = shapeProblem(s.statement);
  if (shape) return fail("malformed", shape);
  const st = s.statement as FreshnessStatement;
  const dc = opts.node.dataCenter;
  const env = verifyEnvelope(st, s.signature, {
    root: opts.root,
    crls: opts.crls,
    at: now,
    signer: { use: "clientAuth", expect: { dataCenters: [dc], kinds: ["service"] } },
  });
  if (!env.ok) return fail(env.reason, `freshness signer: ${env.detail}`);
  const signer = formatIdentity(env.identity);
  // Data center and kind were checked by verifyIdentity; the name picks the one timestamp service of
  // the zone (not merely a name starting "timestamp.dc1.": "timestamp.dc1.x.dc1.<domain>" is in the zone too).
  if (env.identity.name !== timestampName(zoneOf(env.signer.uris)))
    return fail(
      "wrong-signer",
      `${signer} is not data center ${dc}'s timestamp service (${TIMESTAMP_LABEL}.${dc}.<domain>); no other identity may vouch for freshness`,
    );
  return targetProblem(st, opts, now) ?? { ok: true, statement: st, signer };
}

function targetProblem(
  st: FreshnessStatement,
  opts: VerifyFreshnessOptions,
  now: Date,
): FreshnessVerification | undefined {
  const t = opts.target;
  const node = opts.node;
  if (st.dataCenter !== node.dataCenter || st.computerId !== node.name || st.computerId !== t.computerId)
    return fail(
      "wrong-computer",
      `the statement is for ${st.dataCenter}/${st.computerId}; this is ${formatIdentity(node)}`,
    );
  if (st.version !== t.version)
    return fail(
      "wrong-version",
      `the statement vouches for version ${st.version}; the document is version ${t.version}`,
    );
  if (st.digest !== t.digest)
    return fail(
      "wrong-digest",
      `the statement vouches for version ${st.version} with digest ${st.digest}; the document's digest is ${t.digest}`,
    );
  const issued = Date.parse(st.issuedAt);
  const expires = Date.parse(st.expiresAt);
  if ((expires - issued) / 1000 > FRESHNESS_LIMITS.lifetimeSeconds)
    return fail(
      "lifetime-too-long",
      `the statement is valid from ${st.issuedAt} to ${st.expiresAt}; at most ${FRESHNESS_LIMITS.lifetimeSeconds} s are accepted`,
    );
  if (now.getTime() >= expires)
    return fail(
      "expired",
      `the freshness of version ${st.version} expired at ${st.expiresAt}: the timestamp service has not renewed it (frozen or unreachable control plane)`,
    );
  const skew = opts.maxClockSkewSeconds ?? DESIRED_STATE_LIMITS.clockSkewSeconds;
  if (issued - skew * 1000 > now.getTime())
    return fail(
      "not-yet-valid",
      `the statement is issued at ${st.issuedAt}, in the future of this node's clock (${now.toISOString()})`,
    );
  if (opts.lastIssuedAt !== undefined && issued < Date.parse(opts.lastIssuedAt))
    return fail(
      "replayed",
      `the statement is issued at ${st.issuedAt}, before ${opts.lastIssuedAt}, the last one this node accepted`,
    );
  return undefined;
}

/** The zone of a verified service leaf, from its identity URI `zeroroot://service.<zone>/<name>`. */
function zoneOf(uris: readonly string[]): string {
  const m = uris.map((u) => /^zeroroot:\/\/service\.([^/]+)\//.exec(u)).find((x) => x !== null);
  return m ? m[1] : "";
}

const STATEMENT_KEYS = ["kind", "computerId", "dataCenter", "version", "digest", "issuedAt", "expiresAt"];
const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/;

/** Why `v` is not a well-formed statement, or undefined. */
function shapeProblem(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "statement: expected an object";
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !STATEMENT_KEYS.includes(k));
  if (extra !== undefined)
    return `statement.${shown(extra)}: unknown field; allowed: ${STATEMENT_KEYS.join(", ")}`;
  if (o.kind !== FRESHNESS_KIND) return `statement.kind: got ${shown(o.kind)}; must be "${FRESHNESS_KIND}"`;
  for (const k of ["computerId", "dataCenter"])
    if (typeof o[k] !== "string" || !ID.test(o[k] as string))
      return `statement.${k}: got ${shown(o[k])}; must be an id of [a-z0-9-]`;
  if (!Number.isSafeInteger(o.version) || (o.version as number) < 1)
    return `statement.version: got ${shown(o.version)}; must be an integer >= 1`;
  if (typeof o.digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(o.digest))
    return `statement.digest: got ${shown(o.digest)}; must be sha256:<64 hex>`;
  for (const k of ["issuedAt", "expiresAt"])
    if (typeof o[k] !== "string" || !INSTANT.test(o[k] as string) || isNaN(Date.parse(o[k] as string)))
      return `statement.${k}: got ${shown(o[k])}; must be an ISO-8601 UTC instant`;
  if (Date.parse(o.expiresAt as string) <= Date.parse(o.issuedAt as string))
    return "statement.expiresAt: must be after issuedAt";
  return undefined;
}

function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

const fail = (reason: FreshnessRefusal, detail: string): Extract<FreshnessVerification, { ok: false }> => ({
  ok: false,
  reason,
  detail,
});
