/**
 * The vocabulary of the rule book: findings, metadata, the UNKNOWN marker. Pure; shared by the
 * policy pack (desired state at preview) and drift detection (observed state of live hosts).
 */

/**
 * A value not known yet (computed by another resource during `pulumi preview`, or not observable on
 * a host). A rule never reports a finding because of an UNKNOWN value: it judges only what it knows.
 */
export const UNKNOWN: unique symbol = Symbol.for("zeroroot.rules.unknown");
export type Unknown = typeof UNKNOWN;
/** A value that may not be known yet. */
export type Maybe<T> = T | Unknown;

export const isUnknown = (v: unknown): v is Unknown => v === UNKNOWN;
/** True only when the value is known and strictly equal to `expected`. */
export const isKnown = <T>(v: Maybe<T> | undefined): v is T => v !== UNKNOWN && v !== undefined;

export type Severity = "low" | "medium" | "high" | "critical";

/** One thing a rule found wrong with one subject of its view. */
export interface Finding {
  /** The rule's kebab-case name. */
  readonly rule: string;
  readonly severity: Severity;
  /** What is wrong, naming the field and the value received (never a secret value). */
  readonly message: string;
  /**
   * The subject the finding is about: the `ref` of the view element (a resource URN or name in the
   * pack, a host id in drift detection). Absent when it is the view as a whole.
   */
  readonly ref?: string;
  /** Dotted path of the offending field inside the subject, e.g. `bmc.cipherSuite`. */
  readonly path?: string;
  /** True when the rule itself failed (threw): the subject could not be judged. */
  readonly error?: boolean;
}

/** What every rule exports besides its function: the public face of the rule. */
export interface RuleMeta<C> {
  /** kebab-case, stable: policy names, exemptions and SARIF rule ids use it. */
  readonly name: string;
  /** Starts with "Checks that". */
  readonly description: string;
  readonly severity: Severity;
  /** What to change to comply, in one or two sentences. */
  readonly remediation: string;
  /** The invariant of DESIGN.md it enforces. */
  readonly invariant: string;
  /** Complete configuration used when the caller gives none. */
  readonly defaults: C;
  /** JSON schema (draft-07 subset) of the configuration, for the policy pack's config schema. */
  readonly configSchema: Record<string, unknown>;
}

/** A rule: pure, total over its view, never throws on purpose. */
export interface Rule<V, C> extends RuleMeta<C> {
  check(view: V, config: C): Finding[];
}

/** Builds a finding with the rule's name and severity filled in. */
export function finding(
  meta: Pick<RuleMeta<unknown>, "name" | "severity">,
  message: string,
  ref?: string,
  path?: string,
): Finding {
  const f: { -readonly [K in keyof Finding]: Finding[K] } = {
    rule: meta.name,
    severity: meta.severity,
    message,
  };
  if (ref !== undefined) f.ref = ref;
  if (path !== undefined) f.path = path;
  return f;
}

/** Merges a partial configuration over the rule's defaults (one level deep; arrays replace). */
export function resolveConfig<C>(rule: RuleMeta<C>, partial?: Partial<C>): C {
  return { ...rule.defaults, ...(partial ?? {}) } as C;
}

/**
 * Runs a rule so that a failure of the rule is a finding, not a crash (cdk-nag's model): a rule that
 * throws yields one `error` finding naming the rule and the error, and the other rules still run.
 */
export function runRule<V, C>(rule: Rule<V, C>, view: V, config?: Partial<C>): Finding[] {
  try {
    return rule.check(view, resolveConfig(rule, config));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return [
      { rule: rule.name, severity: rule.severity, message: `rule ${rule.name} failed: ${msg}`, error: true },
    ];
  }
}

/** Quotes a value for a message; strings are JSON-quoted, UNKNOWN shows as <unknown>. */
export function show(v: unknown): string {
  if (v === UNKNOWN) return "<unknown>";
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  return String(v);
}
