/**
 * Builds the zeroroot policies: each maps one rule of lib/rules to a CrossGuard resource or stack
 * policy, plus the `exemptions` policy that judges policies/exemptions.ts itself. Pure: no server.
 */
import type {
  EnforcementLevel,
  PolicyConfigSchema,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { runRule, type Finding, type ResourceRecord, type Severity } from "../lib/rules";
import {
  RESOURCE_BINDINGS,
  STACK_BINDINGS,
  type AnyRule,
  type ResourceBinding,
  type StackBinding,
} from "./bindings";
import { EXEMPTIONS, exemptionProblems, findExemption, type Exemption } from "./exemptions";
import { recordOf } from "./records";

/** One violation, structured (the pack reports it as a message; the CLI formats it). */
export interface Violation {
  /** Policy name (the rule name, or `zero-password-state`, `exemptions`). */
  readonly policy: string;
  /** Rule name from lib/rules (or `exemptions`). */
  readonly rule: string;
  readonly enforcementLevel: "mandatory" | "advisory";
  readonly severity: Severity;
  readonly message: string;
  readonly remediation: string;
  readonly urn?: string;
  readonly resourceName?: string;
  readonly resourceType?: string;
  /** Offending field inside the resource, e.g. `instances[0].programs[1].uid`. */
  readonly path?: string;
  /** The rule failed (threw) instead of judging. */
  readonly error?: boolean;
}

/** Per-policy configuration, as `pulumi preview --policy-pack-config` and `evaluatePolicies` take it. */
export type PackConfig = Readonly<
  Record<string, { enforcementLevel?: EnforcementLevel } & Record<string, unknown>>
>;

export interface PolicyOptions {
  /** @default - EXEMPTIONS from policies/exemptions.ts */
  readonly exemptions?: readonly Exemption[];
  /** Clock for exemption expiry. @default - Date.now */
  readonly now?: () => number;
}

/** A policy of this pack, with what the CLI needs to explain it. */
export type ZerorootPolicy = (ResourceValidationPolicy | StackValidationPolicy) & {
  readonly rule: string;
  readonly remediationSteps: string;
};

// A hook on validation args through which evaluatePolicies receives structured violations.
export const COLLECT = Symbol.for("zeroroot.policy.collect");
type Collector = (v: Violation) => void;

function collectorOf(args: object): Collector | undefined {
  return (args as Record<symbol, Collector | undefined>)[COLLECT];
}

/** Default enforcement: every rule guards a DESIGN.md invariant, so all are mandatory. */
export const DEFAULT_ENFORCEMENT: EnforcementLevel = "mandatory";

function configFor(rule: AnyRule, given: Record<string, unknown>, fixed?: Record<string, unknown>) {
  const { enforcementLevel: _ignored, ...rest } = given;
  return { ...rule.defaults, ...rest, ...(fixed ?? {}) };
}

function levelOf(given: Record<string, unknown>): "mandatory" | "advisory" {
  return given.enforcementLevel === "advisory" ? "advisory" : "mandatory";
}

function emit(
  args: object,
  report: ReportViolation,
  policy: string,
  rule: AnyRule,
  f: Finding,
  target: { urn: string; name: string; type: string } | undefined,
  level: "mandatory" | "advisory",
): void {
  report(`${f.message}. Remediation: ${rule.remediation}`, target?.urn);
  collectorOf(args)?.({
    policy,
    rule: rule.name,
    enforcementLevel: level,
    severity: f.severity,
    message: f.message,
    remediation: rule.remediation,
    urn: target?.urn,
    resourceName: target?.name,
    resourceType: target?.type,
    path: f.path,
    error: f.error,
  });
}

/** The fields every rule-backed policy shares: its name, the rule's metadata, its config schema. */
function ruleMetadata(b: ResourceBinding | StackBinding) {
  return {
    name: b.policy ?? b.rule.name,
    rule: b.rule.name,
    description: b.rule.description,
    enforcementLevel: DEFAULT_ENFORCEMENT,
    severity: b.rule.severity,
    remediationSteps: b.rule.remediation,
    configSchema: { properties: b.rule.configSchema as PolicyConfigSchema["properties"] },
  };
}

interface Exempting {
  readonly exemptions: readonly Exemption[];
  readonly now: () => number;
}

function resourcePolicy(b: ResourceBinding, { exemptions, now }: Exempting): ZerorootPolicy {
  const meta = ruleMetadata(b);
  return {
    ...meta,
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
      const record = recordOf({ ...args, opts: args.opts });
      if (record && b.kinds !== "all" && !b.kinds.includes(record.kind)) return;
      const view = record ? b.view(record) : b.foreignView?.(args);
      if (view === undefined) return;
      const given = args.getConfig<Record<string, unknown>>() ?? {};
      const findings = runRule(b.rule, view, configFor(b.rule, given, b.fixedConfig));
      for (const f of findings) {
        if (findExemption(exemptions, b.rule.name, args, now())) continue;
        emit(args, report, meta.name, b.rule, f, args, levelOf(given));
      }
    },
  };
}

function stackPolicy(b: StackBinding, { exemptions, now }: Exempting): ZerorootPolicy {
  const meta = ruleMetadata(b);
  return {
    ...meta,
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
      const records = args.resources.map((r) => recordOf(r)).filter((r): r is ResourceRecord => !!r);
      const byUrn = new Map(args.resources.map((r) => [r.urn, r]));
      const given = args.getConfig<Record<string, unknown>>() ?? {};
      const config = configFor(b.rule, given, b.fixedConfig);
      for (const view of b.views(records)) {
        for (const f of runRule(b.rule, view, config)) {
          const target = f.ref !== undefined ? byUrn.get(f.ref) : undefined;
          if (target && findExemption(exemptions, b.rule.name, target, now())) continue;
          emit(args, report, meta.name, b.rule, f, target, levelOf(given));
        }
      }
    },
  };
}

function exemptionsPolicy(ruleNames: readonly string[], { exemptions, now }: Exempting): ZerorootPolicy {
  const exemptionRemediation =
    "Fix the resource and delete the exemption from policies/exemptions.ts, or renew it with a new expiry and reason after review.";
  return {
    name: "exemptions",
    rule: "exemptions",
    description:
      "Checks that every exemption in policies/exemptions.ts names a known rule, a resource, a reason and an expiry date that has not passed.",
    enforcementLevel: DEFAULT_ENFORCEMENT,
    severity: "high",
    remediationSteps: exemptionRemediation,
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
      const given = args.getConfig<Record<string, unknown>>() ?? {};
      for (const problem of exemptionProblems(exemptions, [...new Set(ruleNames)], now())) {
        report(`${problem}. Remediation: ${exemptionRemediation}`);
        collectorOf(args)?.({
          policy: "exemptions",
          rule: "exemptions",
          enforcementLevel: levelOf(given),
          severity: "high",
          message: problem,
          remediation: exemptionRemediation,
        });
      }
    },
  };
}

/** Builds the pack's policies (pure: no server, no I/O). */
export function makePolicies(options: PolicyOptions = {}): ZerorootPolicy[] {
  const ctx: Exempting = { exemptions: options.exemptions ?? EXEMPTIONS, now: options.now ?? Date.now };
  const out: ZerorootPolicy[] = [
    ...RESOURCE_BINDINGS.map((b) => resourcePolicy(b, ctx)),
    ...STACK_BINDINGS.map((b) => stackPolicy(b, ctx)),
  ];
  const ruleNames = [...new Set(out.map((p) => p.rule)), ...out.map((p) => p.name)];
  out.push(exemptionsPolicy(ruleNames, ctx));
  return out;
}
