/**
 * Formatters for violations: text for people, JSON for scripts, SARIF 2.1.0 for code-scanning tools
 * (GitHub code scanning, Azure DevOps, SonarQube). Pure: they return strings.
 */
import { createHash } from "node:crypto";
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

const SECURITY_SEVERITY = { critical: "9.5", high: "8.0", medium: "5.5", low: "3.0" } as const;

export interface SarifOptions {
  /** Artifact a stack's results point at. @default - `stacks/Pulumi.<stack>.yaml` */
  readonly artifactUri?: (stack: string) => string;
  readonly toolVersion?: string;
  readonly informationUri?: string;
  /** Policies described in `tool.driver.rules`. @default - the pack's */
  readonly policies?: readonly ZerorootPolicy[];
}

export function toSarif(
  reports: readonly StackReport[],
  options: SarifOptions = {},
): Record<string, unknown> {
  const pols = options.policies ?? packPolicies;
  const uriOf = options.artifactUri ?? ((s: string) => `stacks/Pulumi.${s}.yaml`);
  const index = new Map(pols.map((p, i) => [p.name, i]));
  const rules = pols.map((p) => ({
    id: p.name,
    name: p.name
      .split("-")
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join(""),
    shortDescription: { text: p.description.split(/(?<=\.)\s/)[0] },
    fullDescription: { text: p.description },
    help: { text: p.remediationSteps, markdown: `**Remediation:** ${p.remediationSteps}` },
    defaultConfiguration: { level: p.enforcementLevel === "advisory" ? "warning" : "error" },
    properties: {
      tags: ["security", "zeroroot", p.rule],
      "security-severity": SECURITY_SEVERITY[p.severity ?? "high"],
    },
  }));
  const results = reports.flatMap((r) =>
    r.violations.map((v) => {
      const result: Record<string, unknown> = {
        ruleId: v.policy,
        level: v.enforcementLevel === "mandatory" ? "error" : "warning",
        message: { text: `${v.message}. Remediation: ${v.remediation}` },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri: uriOf(r.stack) }, region: { startLine: 1 } },
            logicalLocations: [
              {
                name: v.resourceName ?? r.stack,
                fullyQualifiedName: v.urn ?? `stack:${r.stack}`,
                kind: v.urn ? "resource" : "module",
              },
            ],
          },
        ],
        partialFingerprints: {
          "zerorootViolation/v1": createHash("sha256")
            .update([r.stack, v.policy, v.urn ?? "", v.path ?? "", v.message].join("\u0000"))
            .digest("hex"),
        },
        properties: { stack: r.stack, severity: v.severity, ...(v.path ? { path: v.path } : {}) },
      };
      const i = index.get(v.policy);
      if (i !== undefined) result.ruleIndex = i;
      return result;
    }),
  );
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "zeroroot-policy",
            informationUri:
              options.informationUri ?? "https://github.com/zeroroot/zeroroot/blob/main/docs/policy.md",
            version: options.toolVersion ?? "0.1.0",
            rules,
          },
        },
        automationDetails: { id: `zeroroot-policy/${reports.map((r) => r.stack).join("+")}` },
        results,
      },
    ],
  };
}

export function formatSarif(reports: readonly StackReport[], options: SarifOptions = {}): string {
  return `${JSON.stringify(toSarif(reports, options), null, 2)}\n`;
}
