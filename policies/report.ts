/**
 * Formatters for violations: text for people, JSON for scripts, SARIF 2.1.0 for code-scanning tools
 * (GitHub code scanning, Azure DevOps, SonarQube). Pure: they return strings.
 */
import { createHash } from "node:crypto";
import { sarifLog, type SarifResultSpec, type SarifRuleSpec } from "../lib/sarif/log";
import { policies as packPolicies, type Violation, type ZerorootPolicy } from "./policies";

/** The violations found in one stack (or one scope, e.g. "all stacks" for cross-stack rules). */
export interface StackReport {
  readonly stack: string;
  readonly violations: readonly Violation[];
  /** Number of resources evaluated (for the summary). */
  readonly resourceCount?: number;
}

export const hasMandatory = (reports: readonly StackReport[]): boolean =>
  reports.some((r) => r.violations.some((v) => v.enforcementLevel === "mandatory"));

export function formatText(reports: readonly StackReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    const m = r.violations.filter((v) => v.enforcementLevel === "mandatory").length;
    const a = r.violations.length - m;
    const res = r.resourceCount !== undefined ? `${r.resourceCount} resources, ` : "";
    lines.push(
      `${r.stack}: ${res}${m} mandatory and ${a} advisory violation(s)${m + a === 0 ? " — pass" : ""}`,
    );
    for (const v of r.violations) {
      const where = [v.resourceName ?? v.urn ?? "(stack)", v.path].filter(Boolean).join(" ");
      lines.push(`  ${v.enforcementLevel.toUpperCase()} [${v.policy}] ${where}`);
      lines.push(`    ${v.message}`);
      lines.push(`    fix: ${v.remediation}`);
    }
  }
  const total = reports.reduce((n, r) => n + r.violations.length, 0);
  lines.push(
    hasMandatory(reports)
      ? `FAILED: ${total} violation(s)`
      : `OK: no mandatory violation (${total} advisory)`,
  );
  return `${lines.join("\n")}\n`;
}

export function formatJson(reports: readonly StackReport[]): string {
  return `${JSON.stringify({ ok: !hasMandatory(reports), stacks: reports }, null, 2)}\n`;
}

/** Where a violation points: the stack file (relative to the repository root), line and key. */
export interface ViolationLocation {
  readonly uri: string;
  /** 1-based line of the config key that causes the violation. */
  readonly line?: number;
  readonly key?: string;
}

export interface SarifOptions {
  /** Artifact a stack's results point at when `locate` gives none. @default - `stacks/Pulumi.<stack>.yaml` */
  readonly artifactUri?: (stack: string) => string;
  /** The stack file line of the key that causes each violation (`zeroroot policy check` passes one). */
  readonly locate?: (stack: string, v: Violation) => ViolationLocation | undefined;
  readonly toolVersion?: string;
  readonly informationUri?: string;
  /** Policies described in `tool.driver.rules`. @default - the pack's */
  readonly policies?: readonly ZerorootPolicy[];
}

/** SARIF 2.1.0 with opaque rule ids and each result at the line of the key that causes it (lib/sarif). */
export function toSarif(
  reports: readonly StackReport[],
  options: SarifOptions = {},
): Record<string, unknown> {
  const pols = options.policies ?? packPolicies;
  const uriOf = options.artifactUri ?? ((s: string) => `stacks/Pulumi.${s}.yaml`);
  const rules: SarifRuleSpec[] = pols.map((p) => ({
    name: p.name,
    description: p.description,
    remediation: p.remediationSteps,
    level: p.enforcementLevel === "advisory" ? "warning" : "error",
    severity: p.severity ?? "high",
    tags: ["security", "zeroroot", p.rule],
  }));
  const results: SarifResultSpec[] = reports.flatMap((r) =>
    r.violations.map((v) => {
      const at = options.locate?.(r.stack, v);
      return {
        rule: v.policy,
        level: v.enforcementLevel === "mandatory" ? "error" : "warning",
        message: `${v.message}. Remediation: ${v.remediation}`,
        uri: at?.uri ?? uriOf(r.stack),
        line: at?.line ?? 1,
        logical: {
          name: v.resourceName ?? r.stack,
          fullyQualifiedName: v.urn ?? `stack:${r.stack}`,
          kind: v.urn ? "resource" : "module",
        },
        fingerprint: {
          name: "zerorootViolation/v1",
          value: createHash("sha256")
            .update([r.stack, v.policy, v.urn ?? "", v.path ?? "", v.message].join("\u0000"))
            .digest("hex"),
        },
        properties: {
          stack: r.stack,
          policy: v.policy,
          severity: v.severity,
          ...(v.path ? { path: v.path } : {}),
          ...(at?.key ? { configKey: at.key } : {}),
        },
      };
    }),
  );
  return sarifLog(
    {
      name: "zeroroot-policy",
      informationUri:
        options.informationUri ?? "https://github.com/zeroroot/zeroroot/blob/main/docs/policy.md",
      version: options.toolVersion ?? "0.1.0",
      automationId: `zeroroot-policy/${reports.map((r) => r.stack).join("+")}`,
    },
    rules,
    results,
  );
}

export function formatSarif(reports: readonly StackReport[], options: SarifOptions = {}): string {
  return `${JSON.stringify(toSarif(reports, options), null, 2)}\n`;
}
