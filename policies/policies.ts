/**
 * The zeroroot policies: each maps one rule of lib/rules to a CrossGuard resource or stack policy.
 * This module never constructs a PolicyPack (that starts a gRPC server); index.ts does, and tests
 * and `zeroroot policy check` import `policies` / `evaluatePolicies` from here.
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
import {
  bmc,
  bmcViewOf,
  certificate,
  certificateViewOf,
  desiredStateViewOf,
  fleetViewOf,
  hostViewOfDesiredState,
  hostViewOfImage,
  mutualTls,
  noSsh,
  persistence,
  runRule,
  signedSoftware,
  spread,
  valuesViewOf,
  zeroPassword,
  zeroRoot,
  type Finding,
  type ResourceRecord,
  type Rule,
  type Severity,
} from "../lib/rules";
import type { ResourceKind } from "../lib/contracts/resources";
import { EXEMPTIONS, exemptionProblems, findExemption, type Exemption } from "./exemptions";
import { recordOf, type RecordSource } from "./records";

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
const COLLECT = Symbol.for("zeroroot.policy.collect");
type Collector = (v: Violation) => void;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRule = Rule<any, any>;
interface ResourceBinding {
  readonly rule: AnyRule;
  readonly policy?: string;
  readonly kinds: readonly ResourceKind[] | "all";
  readonly view: (r: ResourceRecord) => unknown;
  readonly fixedConfig?: Record<string, unknown>;
}
interface StackBinding {
  readonly rule: AnyRule;
  readonly policy?: string;
  /** Views of the whole stack, each with the records it covers. */
  readonly views: (rs: readonly ResourceRecord[]) => unknown[];
  readonly fixedConfig?: Record<string, unknown>;
}

const hostView = (r: ResourceRecord) =>
  r.kind === "HardenedImage" ? hostViewOfImage(r) : hostViewOfDesiredState(r);

const RESOURCE_BINDINGS: readonly ResourceBinding[] = [
  { rule: zeroRoot, kinds: ["HardenedImage", "DesiredState"], view: hostView },
  { rule: noSsh, kinds: ["HardenedImage", "DesiredState"], view: hostView },
  { rule: zeroPassword, kinds: "all", view: valuesViewOf },
  { rule: mutualTls, kinds: ["DesiredState"], view: hostViewOfDesiredState },
  { rule: certificate, kinds: ["Certificate"], view: certificateViewOf },
  { rule: bmc, kinds: ["BmcServer"], view: bmcViewOf },
  { rule: persistence, kinds: ["DesiredState"], view: desiredStateViewOf },
];

const STACK_BINDINGS: readonly StackBinding[] = [
  { rule: signedSoftware, views: (rs) => [fleetViewOf(rs)] },
  { rule: spread, views: (rs) => [fleetViewOf(rs)] },
  {
    // At the end of an update the stack policies see outputs: a private key a provider returned.
    rule: zeroPassword,
    policy: "zero-password-state",
    views: (rs) => rs.map(valuesViewOf),
    fixedConfig: { checkPlaintextSecrets: false, checkPrivateKeys: true },
  },
];

/** Default enforcement: every rule guards a DESIGN.md invariant, so all are mandatory. */
export const DEFAULT_ENFORCEMENT: EnforcementLevel = "mandatory";

function schemaOf(rule: AnyRule): PolicyConfigSchema {
  return { properties: rule.configSchema as PolicyConfigSchema["properties"] };
}

function configFor(rule: AnyRule, given: Record<string, unknown>, fixed?: Record<string, unknown>) {
  const { enforcementLevel: _ignored, ...rest } = given;
  return { ...rule.defaults, ...rest, ...(fixed ?? {}) };
}

function messageOf(f: Finding, rule: AnyRule): string {
  return `${f.message}. Remediation: ${rule.remediation}`;
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
  report(messageOf(f, rule), target?.urn);
  const collect = (args as Record<symbol, Collector | undefined>)[COLLECT];
  collect?.({
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

/** Builds the pack's policies (pure: no server, no I/O). */
export function makePolicies(options: PolicyOptions = {}): ZerorootPolicy[] {
  const exemptions = options.exemptions ?? EXEMPTIONS;
  const now = options.now ?? Date.now;
  const out: ZerorootPolicy[] = [];

  for (const b of RESOURCE_BINDINGS) {
    const name = b.policy ?? b.rule.name;
    out.push({
      name,
      rule: b.rule.name,
      description: b.rule.description,
      enforcementLevel: DEFAULT_ENFORCEMENT,
      severity: b.rule.severity,
      remediationSteps: b.rule.remediation,
      configSchema: schemaOf(b.rule),
      validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const record = recordOf({ ...args, opts: args.opts });
        if (!record || (b.kinds !== "all" && !b.kinds.includes(record.kind))) return;
        const given = args.getConfig<Record<string, unknown>>() ?? {};
        const findings = runRule(b.rule, b.view(record), configFor(b.rule, given, b.fixedConfig));
        for (const f of findings) {
          if (findExemption(exemptions, b.rule.name, args, now())) continue;
          emit(args, report, name, b.rule, f, args, levelOf(given));
        }
      },
    });
  }

  for (const b of STACK_BINDINGS) {
    const name = b.policy ?? b.rule.name;
    out.push({
      name,
      rule: b.rule.name,
      description: b.rule.description,
      enforcementLevel: DEFAULT_ENFORCEMENT,
      severity: b.rule.severity,
      remediationSteps: b.rule.remediation,
      configSchema: schemaOf(b.rule),
      validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const records = args.resources.map((r) => recordOf(r)).filter((r): r is ResourceRecord => !!r);
        const byUrn = new Map(args.resources.map((r) => [r.urn, r]));
        const given = args.getConfig<Record<string, unknown>>() ?? {};
        const config = configFor(b.rule, given, b.fixedConfig);
        for (const view of b.views(records)) {
          for (const f of runRule(b.rule, view, config)) {
            const target = f.ref !== undefined ? byUrn.get(f.ref) : undefined;
            if (target && findExemption(exemptions, b.rule.name, target, now())) continue;
            emit(args, report, name, b.rule, f, target, levelOf(given));
          }
        }
      },
    });
  }

  const ruleNames = [...new Set(out.map((p) => p.rule)), ...out.map((p) => p.name)];
  const exemptionRemediation =
    "Fix the resource and delete the exemption from policies/exemptions.ts, or renew it with a new expiry and reason after review.";
  out.push({
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
        const collect = (args as unknown as Record<symbol, Collector | undefined>)[COLLECT];
        collect?.({
          policy: "exemptions",
          rule: "exemptions",
          enforcementLevel: levelOf(given),
          severity: "high",
          message: problem,
          remediation: exemptionRemediation,
        });
      }
    },
  });
  return out;
}

/** The pack's policies with the project's exemptions. */
export const policies: readonly ZerorootPolicy[] = makePolicies();

/** A resource as `zeroroot policy check` captures it from a stack program under mocks. */
export type CapturedResource = RecordSource;

export interface EvaluateOptions extends PolicyOptions {
  /** Run only these policies (e.g. the stack-level ones over the union of all stacks). */
  readonly only?: readonly string[];
}

class NotApplicable extends Error {}

/**
 * Runs the pack's policies over captured resources, without an engine, through the same
 * validateResource/validateStack functions the engine calls. Props may keep the SDK's secret
 * wrappers (as captured under mocks) or give `secretPaths`; either way secretness is judged.
 */
export function evaluatePolicies(
  resources: readonly CapturedResource[],
  config: PackConfig = {},
  options: EvaluateOptions = {},
): Violation[] {
  const violations: Violation[] = [];
  const pols = makePolicies(options).filter((p) => !options.only || options.only.includes(p.name));
  const base = (p: ZerorootPolicy) => ({
    stackTags: new Map<string, string>(),
    getConfig: <T extends object>() => (config[p.name] ?? {}) as unknown as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
    [COLLECT]: (v: Violation) => violations.push(v),
  });
  const noop: ReportViolation = () => undefined;
  const srcs = resources.map((r) => ({ ...r, secretsKnown: r.secretsKnown ?? true }));
  for (const p of pols) {
    if (config[p.name]?.enforcementLevel === "disabled") continue;
    const guard = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        if (!(e instanceof NotApplicable)) throw e;
      }
    };
    if ("validateResource" in p && p.validateResource) {
      const validations = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
      for (const r of srcs) {
        const args = {
          ...base(p),
          ...r,
          opts: fakeOpts(r),
          isType: () => false,
          asType: () => undefined,
        } as unknown as ResourceValidationArgs;
        for (const v of validations) guard(() => void v(args, noop));
      }
    }
    if ("validateStack" in p) {
      const resourcesArg = srcs.map((r) => ({
        ...r,
        opts: fakeOpts(r),
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
      }));
      const args = { ...base(p), resources: resourcesArg } as unknown as StackValidationArgs;
      guard(() => void p.validateStack(args, noop));
    }
  }
  return violations;
}

function fakeOpts(r: CapturedResource) {
  return {
    protect: r.opts?.protect,
    retainOnDelete: r.opts?.retainOnDelete,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
  };
}
