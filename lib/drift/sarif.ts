/**
 * Drift findings as SARIF 2.1.0 (lib/sarif/log.ts): each result at the stack file line of the key
 * that causes it, rule ids opaque (ZR2xxx for drift's checks, ZR1xxx for the rule book's), the
 * server and resource as the logical location, and a fingerprint that is the finding's key, so code
 * scanning keeps one alert per (stack, server, check, subject) across scheduled runs.
 */
import { sarifLog, type SarifResultSpec, type SarifRuleSpec } from "../sarif/log";
import { ALL_CHECKS } from "./checks";
import type { DriftRun } from "./judge";

export interface DriftSarifOptions {
  /** Turns a finding's stack file path into a URI relative to the repository root. @default - as given */
  readonly uriOf?: (file: string) => string;
  readonly toolVersion?: string;
  readonly informationUri?: string;
}

export function driftSarif(run: DriftRun, options: DriftSarifOptions = {}): Record<string, unknown> {
  const uriOf = options.uriOf ?? ((f: string) => f);
  const rules: SarifRuleSpec[] = ALL_CHECKS.map((c) => ({
    name: c.name,
    description: c.description,
    remediation: c.remediation,
    level: c.severity === "low" ? "warning" : "error",
    severity: c.severity,
    tags: ["security", "zeroroot", "drift", c.remedy === "human" ? "needs-human" : "remediable"],
  }));
  const results: SarifResultSpec[] = run.findings.map((f) => ({
    rule: f.check,
    level: f.severity === "low" ? "warning" : "error",
    message: `${f.dataCenter}/${f.server} ${f.subject}: ${f.message} (observed: ${f.observed}; desired: ${f.desired}; since ${f.since}${f.status === "flapping" ? "; flapping" : ""}). Fix: ${f.fix}`,
    uri: uriOf(f.location.file),
    line: f.location.line ?? 1,
    logical: { name: f.server, fullyQualifiedName: f.urn, kind: "resource" },
    fingerprint: { name: "zerorootDrift/v1", value: f.key },
    properties: {
      stack: f.stack,
      server: f.server,
      check: f.check,
      severity: f.severity,
      status: f.status,
      since: f.since,
      remedy: f.remedy,
      configKey: f.location.key,
    },
  }));
  return sarifLog(
    {
      name: "zeroroot-drift",
      version: options.toolVersion ?? "0.1.0",
      informationUri:
        options.informationUri ?? "https://github.com/zeroroot/zeroroot/blob/main/docs/drift.md",
      automationId: `zeroroot-drift/${run.stacks.join("+")}/${run.at}`,
    },
    rules,
    results,
  );
}

export const formatDriftSarif = (run: DriftRun, options: DriftSarifOptions = {}): string =>
  `${JSON.stringify(driftSarif(run, options), null, 2)}\n`;
