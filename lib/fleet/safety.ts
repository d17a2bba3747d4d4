/**
 * Structural safety of configuration read from untrusted text (a stack file, the engine's JSON):
 * keys that would reach `Object.prototype` machinery are refused, and sizes, counts and depth are
 * bounded before the schema and the cross-field checks do any work. Runs over every `zeroroot:*`
 * value, whichever way it arrived.
 */
import type { PathSegment } from "./validate";

/**
 * Keys that change an object's prototype or shadow its machinery when a plain object is indexed by
 * them (`obj["__proto__"] = x` replaces the prototype; a lookup of `constructor` finds a function).
 */
export const PROTOTYPE_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];

/** Limits on one stack's configuration; a real fleet of 1,000 servers stays far below each. */
export const CONFIG_BOUNDS = {
  /** Nesting of maps and lists (the deepest real path, services[i].endpoints[j].port, is 4). */
  maxDepth: 12,
  /** Characters of one string (a PEM root certificate is about 800). */
  maxStringLength: 16_384,
  /** Characters of one key. */
  maxKeyLength: 128,
  /** Items of one list (servers of one data center, services, MACs...). */
  maxItems: 4_096,
  /** Keys of one map. */
  maxKeys: 256,
  /** Values in one stack's configuration, all levels together. */
  maxNodes: 200_000,
} as const;

export type Report = (path: readonly PathSegment[], received: string, allowed: string, fix: string) => void;

/**
 * Reports prototype keys and values beyond CONFIG_BOUNDS; returns true when any was found (the
 * caller then stops: such input is not a typo, and the schema must not walk it).
 */
export function checkStructure(values: Readonly<Record<string, unknown>>, report: Report): boolean {
  let nodes = 0;
  let found = false;
  const flag: Report = (...args) => {
    found = true;
    report(...args);
  };
  const walk = (v: unknown, path: PathSegment[]): void => {
    if (++nodes > CONFIG_BOUNDS.maxNodes) {
      if (nodes === CONFIG_BOUNDS.maxNodes + 1)
        flag(
          [path[0]],
          `more than ${CONFIG_BOUNDS.maxNodes} values`,
          `at most ${CONFIG_BOUNDS.maxNodes} values in one stack's configuration`,
          "split the fleet into more data-center stacks, or remove generated entries",
        );
      return;
    }
    if (typeof v === "string") {
      if (v.length > CONFIG_BOUNDS.maxStringLength)
        flag(
          path,
          `a string of ${v.length} characters`,
          `at most ${CONFIG_BOUNDS.maxStringLength} characters`,
          "shorten the value; no zeroroot setting needs more",
        );
      return;
    }
    if (v === null || typeof v !== "object") return;
    if (path.length > CONFIG_BOUNDS.maxDepth) {
      flag(
        path,
        `a value nested ${path.length} levels deep`,
        `at most ${CONFIG_BOUNDS.maxDepth} levels of maps and lists`,
        "flatten the value; no zeroroot setting nests this deep",
      );
      return;
    }
    if (Array.isArray(v)) {
      if (v.length > CONFIG_BOUNDS.maxItems) {
        flag(
          path,
          `a list of ${v.length} items`,
          `at most ${CONFIG_BOUNDS.maxItems} items in one list`,
          "split the list (for servers: into more data centers or stacks)",
        );
        return;
      }
      v.forEach((item, i) => walk(item, [...path, i]));
      return;
    }
    const keys = Object.keys(v);
    if (keys.length > CONFIG_BOUNDS.maxKeys) {
      flag(
        path,
        `a map of ${keys.length} keys`,
        `at most ${CONFIG_BOUNDS.maxKeys} keys in one map`,
        "remove the extra keys",
      );
      return;
    }
    for (const k of keys) {
      if (PROTOTYPE_KEYS.includes(k)) {
        flag(
          [...path, k],
          `the key ${JSON.stringify(k)}`,
          `any key but ${PROTOTYPE_KEYS.join(", ")}, which no zeroroot setting uses and which would reach JavaScript's object machinery`,
          `remove the key ${JSON.stringify(k)}`,
        );
        continue;
      }
      if (k.length > CONFIG_BOUNDS.maxKeyLength) {
        flag(
          [...path, `${k.slice(0, 40)}…`],
          `a key of ${k.length} characters`,
          `keys of at most ${CONFIG_BOUNDS.maxKeyLength} characters`,
          "remove or shorten the key",
        );
        continue;
      }
      walk((v as Record<string, unknown>)[k], [...path, k]);
    }
  };
  for (const key of Object.keys(values)) if (key.startsWith("zeroroot:")) walk(values[key], [key]);
  return found;
}

/** Edit distance, for "did you mean"; inputs are bounded keys, so the quadratic cost is small. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The known key closest to `key` (case-insensitive, at most a third of it edited), if any. */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = distance(k, name.toLowerCase());
    if (d <= Math.max(1, Math.floor(name.length / 3)) && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}
