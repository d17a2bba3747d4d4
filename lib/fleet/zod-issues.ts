/**
 * zod's issues in the fleet's terms: each becomes a ConfigIssue naming the config key path, what was
 * received (a password-like key's value never shown), what is allowed and how to fix it, at the stack
 * file line when the file is known. validate.ts runs the schemas; this file words their complaints.
 */
import type { z } from "zod";
import { ConfigIssue, describeValue, joinPath } from "./issues";
import { didYouMean } from "./safety";
import { knownKeysAt } from "./schema-keys";
import { REMOVED_KEYS } from "./schema";
import type { PathSegment, RawStackConfig } from "./validate";

const PASSWORDISH = /pass(word|wd)?|secret|token|key$/i;

export function parseWith<S extends z.ZodType>(
  schema: S,
  raw: RawStackConfig,
  path: PathSegment[],
  issues: ConfigIssue[],
): z.output<S> | undefined {
  const value = raw.values[path[0] as string];
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const zi of result.error.issues) {
    const base = [...path, ...(zi.path as PathSegment[])];
    const keys = zi.code === "unrecognized_keys" ? zi.keys.map((k) => [...base, k]) : [base];
    const known = zi.code === "unrecognized_keys" ? knownKeysAt(schema, base.slice(1)) : [];
    for (const full of keys) {
      const received = valueAt(value, full.slice(1));
      const secretLike = full.some((s) => typeof s === "string" && PASSWORDISH.test(s));
      const where = joinPath(full);
      const guess = didYouMean(String(full[full.length - 1]), known);
      issues.push({
        path: where,
        received:
          zi.code === "unrecognized_keys"
            ? "a key zeroroot does not know"
            : describeValue(received, secretLike),
        allowed:
          zi.code === "unrecognized_keys"
            ? `only the keys documented in docs/fleet.md at ${joinPath(base)}${known.length ? `: ${known.join(", ")}` : ""}`
            : zi.message,
        fix:
          zi.code === "unrecognized_keys"
            ? removedHint(full) && !guess
              ? `${removedHint(full)} (${where})`
              : guess
                ? `did you mean ${guess}? Rename ${where}`
                : `remove ${where} or correct its spelling`
            : received === undefined
              ? `add ${where}`
              : `set ${where} to ${zi.message}`,
        ...raw.locate?.(full),
      });
    }
  }
  return undefined;
}

/** Why a key zeroroot once accepted is refused now (schema.ts REMOVED_KEYS), or undefined. */
function removedHint(path: readonly PathSegment[]): string | undefined {
  const key = path[path.length - 1];
  return typeof key === "string" && Object.hasOwn(REMOVED_KEYS, key) ? REMOVED_KEYS[key] : undefined;
}

export function valueAt(value: unknown, path: readonly PathSegment[]): unknown {
  return path.reduce<unknown>(
    (v, s) =>
      v !== null && typeof v === "object" && Object.hasOwn(v, s)
        ? (v as Record<string | number, unknown>)[s]
        : undefined,
    value,
  );
}
