/**
 * The keys a zod schema accepts at a path inside it, for "did you mean" and for the list of allowed
 * keys in an unknown-key error. Reads zod's public `def` (type, shape, element, innerType, options).
 */
import type { z } from "zod";
import type { PathSegment } from "./validate";

interface Def {
  readonly type: string;
  readonly shape?: Record<string, { def: Def }>;
  readonly element?: { def: Def };
  readonly innerType?: { def: Def };
  readonly options?: readonly { def: Def }[];
  readonly in?: { def: Def };
}

/** Keys of the object schema(s) at `path` (list indices step into elements); [] when none. */
export function knownKeysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  const keys = new Set<string>();
  const visit = (def: Def, rest: readonly PathSegment[], depth: number): void => {
    if (depth > 32) return;
    switch (def.type) {
      case "optional":
      case "default":
      case "nullable":
      case "prefault":
        if (def.innerType) visit(def.innerType.def, rest, depth + 1);
        return;
      case "pipe":
        if (def.in) visit(def.in.def, rest, depth + 1);
        return;
      case "union":
        for (const o of def.options ?? []) visit(o.def, rest, depth + 1);
        return;
      case "array":
        if (rest.length > 0 && typeof rest[0] === "number" && def.element)
          visit(def.element.def, rest.slice(1), depth + 1);
        return;
      case "object": {
        const shape = def.shape ?? {};
        if (rest.length === 0) Object.keys(shape).forEach((k) => keys.add(k));
        else if (typeof rest[0] === "string" && Object.hasOwn(shape, rest[0]))
          visit(shape[rest[0]].def, rest.slice(1), depth + 1);
        return;
      }
    }
  };
  visit((schema as unknown as { def: Def }).def, path, 0);
  return [...keys];
}
