/**
 * Knowing which inputs were Pulumi secrets.
 *
 * The engine sends secret values to the analyzer wrapped in Pulumi's secret signature, but
 * @pulumi/policy 1.21.0 unwraps them before a policy sees them (`deserializeProperties(props,
 * false)` in server.js for both `analyze` and `analyzeStack`): a policy cannot tell a secret from
 * plain text (pulumi/pulumi-policy#241, open). zero-password needs exactly that, so the pack's entry
 * awaits `installSecretTracking()` (policies/secret-tracking.ts): it wraps that internal function to
 * record the paths of secret values on the returned object under a symbol, after verifying the
 * internals, and refuses to start when they moved. Policies read the paths with `secretPathsOf`.
 * Without tracking, secretness is UNKNOWN and no finding depends on it (never a false violation).
 *
 * For `evaluatePolicies` (resources captured under Pulumi mocks) the SDK's own wrappers are still
 * present; `unwrapSdkSecrets` removes them and returns the same paths.
 */
import { UNKNOWN, joinPath, type Maybe } from "../lib/rules";

/** Pulumi's wire signature key and secret signature value (same in the SDK and @pulumi/policy). */
export const SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Where the tracked secret paths live on deserialised props. */
export const SECRET_PATHS: unique symbol = Symbol.for("zeroroot.policy.secretPaths");

/** Removes secret wrappers from a raw (wire or mock) value and lists the paths that were secret. */
export function unwrapSdkSecrets(value: unknown): { value: unknown; secretPaths: Set<string> } {
  const secretPaths = new Set<string>();
  const walk = (v: unknown, path: string): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, joinPath(path, i)));
    if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      const o = v as Record<string, unknown>;
      if (o[SPECIAL_SIG_KEY] === SECRET_SIG) {
        secretPaths.add(path);
        return walk(o.value, path);
      }
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x, joinPath(path, k))]));
    }
    return v;
  };
  return { value: walk(value, ""), secretPaths };
}

/** Secret paths recorded on deserialised props, or UNKNOWN when tracking was not installed. */
export function secretPathsOf(rawProps: unknown): Maybe<ReadonlySet<string>> {
  const v =
    rawProps && typeof rawProps === "object"
      ? (rawProps as Record<symbol, unknown>)[SECRET_PATHS]
      : undefined;
  return v instanceof Set ? v : UNKNOWN;
}
