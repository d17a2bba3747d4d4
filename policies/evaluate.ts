/**
 * Runs the pack's policies without an engine (`zeroroot policy check`, tests), through the same
 * validateResource/validateStack functions the engine calls.
 */
import type { ReportViolation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import {
  COLLECT,
  makePolicies,
  type PackConfig,
  type PolicyOptions,
  type Violation,
  type ZerorootPolicy,
} from "./make-policies";
import type { RecordSource } from "./records";

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
