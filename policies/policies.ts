/**
 * The zeroroot policies: each maps one rule of lib/rules to a CrossGuard resource or stack policy.
 * This module never constructs a PolicyPack (that starts a gRPC server); index.ts does, and tests
 * and `zeroroot policy check` import `policies` / `evaluatePolicies` from here.
 */
import { makePolicies, type ZerorootPolicy } from "./make-policies";

export {
  DEFAULT_ENFORCEMENT,
  makePolicies,
  type PackConfig,
  type PolicyOptions,
  type Violation,
  type ZerorootPolicy,
} from "./make-policies";
export { evaluatePolicies, type CapturedResource, type EvaluateOptions } from "./evaluate";

/** The pack's policies with the project's exemptions. */
export const policies: readonly ZerorootPolicy[] = makePolicies();
