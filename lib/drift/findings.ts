/**
 * A drift finding: one thing observed on one server that differs from what its stack wants, or that
 * a rule of the rule book refuses. Everything in it that came from a server (an agent's report, a
 * probe's banner) is untrusted: it is cut to a bound and stripped of control characters here, once,
 * and escaped again by each output format.
 */
import { createHash } from "node:crypto";
import { escapeForMessage } from "../pki/identity";
import type { Severity } from "../rules";
import { sarifRuleId } from "../sarif/rule-ids";
import type { CheckMeta, PlatformRemedy } from "./checks";
import type { ConfigLocation, DesiredServer } from "./desired";

export interface DriftFinding {
  /** The check or rule name (kebab-case), e.g. `boot-device`, `zero-root`. */
  readonly check: string;
  /** Opaque, stable id of the check (SARIF ruleId), distinct from its name. */
  readonly ruleId: string;
  readonly severity: Severity;
  readonly stack: string;
  readonly dataCenter: string;
  readonly server: string;
  /** URN of the resource the finding is about. */
  readonly urn: string;
  /** What on the server, e.g. `instance postgresql`, `port 22`, `pid 812.uid`. */
  readonly subject: string;
  readonly message: string;
  readonly observed: string;
  readonly desired: string;
  readonly fix: string;
  /** The platform's own fix for it (`--remediate`), or "human" (escalated). */
  readonly remedy: PlatformRemedy | "human";
  /** The stack's `zeroroot:drift.fence` names this check: the server is to be powered off. */
  readonly fence: boolean;
  /** The stack file key that causes it (SARIF points here). */
  readonly location: ConfigLocation;
  /** Stable identity across runs: (stack, server, check, subject). */
  readonly key: string;
  /** First run (ISO) of the current streak in which it was seen, from the history. */
  readonly since: string;
  readonly status: "new" | "ongoing" | "flapping";
  /** For a flapping finding: whether this run saw it. */
  readonly presentNow: boolean;
}

/** Bounds on what one untrusted value may put in a report. */
export const FINDING_LIMITS = { textChars: 300, findingsPerServer: 200 } as const;

/** Untrusted text made safe to print anywhere: control and non-ASCII characters escaped, cut short. */
export function clean(text: unknown, max: number = FINDING_LIMITS.textChars): string {
  const s = typeof text === "string" ? text : (JSON.stringify(text) ?? String(text));
  const cut = s.length > max ? s.slice(0, max) : s;
  // Escaping may grow the text (a control character becomes \uXXXX): cut again after it.
  const escaped = escapeForMessage(cut).slice(0, max);
  return s.length > max || escaped.length === max ? `${escaped}… (${s.length} characters)` : escaped;
}

export const findingKey = (stack: string, server: string, check: string, subject: string): string =>
  createHash("sha256").update([stack, server, check, subject].join("\u0000")).digest("hex").slice(0, 32);

export interface FindingInput {
  readonly subject: string;
  readonly message: string;
  readonly observed: unknown;
  readonly desired: unknown;
  readonly location?: ConfigLocation;
  readonly urn?: string;
  /** Overrides the check's severity (a rule finding carries its own). */
  readonly severity?: Severity;
}

/** A finding of `check` on server `d`, before the history gives it `since` and a status. */
export function makeFinding(d: DesiredServer, check: CheckMeta, f: FindingInput, now: string): DriftFinding {
  const subject = clean(f.subject, 120);
  return {
    check: check.name,
    ruleId: sarifRuleId(check.name),
    severity: f.severity ?? check.severity,
    stack: d.stack,
    dataCenter: d.dataCenter,
    server: d.server,
    urn: f.urn ?? d.urn,
    subject,
    message: clean(f.message, 600),
    observed: clean(f.observed),
    desired: clean(f.desired),
    fix: check.remediation,
    remedy: check.remedy,
    fence: d.drift.fence.includes(check.name),
    location: f.location ?? d.location,
    key: findingKey(d.stack, d.server, check.name, subject),
    since: now,
    status: "new",
    presentNow: true,
  };
}
