/**
 * A SARIF 2.1.0 log, built the one way both `zeroroot policy check` and `zeroroot drift` need:
 * opaque rule ids (rule-ids.ts) with readable names, every result located at the stack file line of
 * the config key that causes it, and stable fingerprints so code scanning follows an alert across
 * runs. Pure; checked by Microsoft's validator in test/integration/sarif.
 */
import type { Severity } from "../rules";
import { sarifRuleId, sarifRuleName } from "./rule-ids";

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

/** GitHub code scanning reads this property to rank security alerts. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: "9.5",
  high: "8.0",
  medium: "5.5",
  low: "3.0",
};

export type SarifLevel = "error" | "warning" | "note";

export interface SarifRuleSpec {
  /** kebab-case rule or policy name; the id comes from rule-ids.ts. */
  readonly name: string;
  readonly description: string;
  readonly remediation: string;
  readonly level: SarifLevel;
  readonly severity: Severity;
  readonly tags: readonly string[];
}

export interface SarifResultSpec {
  readonly rule: string;
  readonly level: SarifLevel;
  readonly message: string;
  /** Artifact, relative to the repository root (forward slashes). */
  readonly uri: string;
  /** 1-based line of the config key; 1 when nothing better is known. */
  readonly line: number;
  readonly logical: { readonly name: string; readonly fullyQualifiedName: string; readonly kind: string };
  /** Inputs of the stable fingerprint (hashed by the caller). */
  readonly fingerprint: { readonly name: string; readonly value: string };
  readonly properties?: Record<string, unknown>;
}

export interface SarifTool {
  readonly name: string;
  readonly version: string;
  readonly informationUri: string;
  readonly automationId: string;
}

/** A message ends with a period (SARIF2001 "terminate messages with a period"). */
export const sentence = (s: string): string => (/[.!?]$/.test(s.trim()) ? s.trim() : `${s.trim()}.`);

const uriOf = (path: string) => path.split("\\").join("/").replace(/^\.\//, "");

export function sarifLog(
  tool: SarifTool,
  rules: readonly SarifRuleSpec[],
  results: readonly SarifResultSpec[],
): Record<string, unknown> {
  const index = new Map(rules.map((r, i) => [r.name, i]));
  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            informationUri: tool.informationUri,
            version: tool.version,
            rules: rules.map((r) => ({
              id: sarifRuleId(r.name),
              name: sarifRuleName(r.name),
              shortDescription: { text: sentence(r.description.split(/(?<=\.)\s/)[0]) },
              fullDescription: { text: sentence(r.description) },
              helpUri: `${tool.informationUri}#${r.name}`,
              help: {
                text: sentence(r.remediation),
                markdown: `**Remediation:** ${sentence(r.remediation)}`,
              },
              defaultConfiguration: { level: r.level },
              properties: { tags: [...r.tags], "security-severity": SECURITY_SEVERITY[r.severity] },
            })),
          },
        },
        automationDetails: { id: tool.automationId },
        results: results.map((r) => {
          const i = index.get(r.rule);
          return {
            ruleId: sarifRuleId(r.rule),
            ...(i !== undefined ? { ruleIndex: i } : {}),
            level: r.level,
            message: { text: sentence(r.message) },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: uriOf(r.uri) },
                  region: { startLine: Math.max(1, Math.floor(r.line)) },
                },
                logicalLocations: [r.logical],
              },
            ],
            partialFingerprints: { [r.fingerprint.name]: r.fingerprint.value },
            ...(r.properties ? { properties: r.properties } : {}),
          };
        }),
      },
    ],
  };
}
