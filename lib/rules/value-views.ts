/**
 * Every string value of a resource, with its secretness: the view the zero-password rule judges.
 */
import type { ResourceKind } from "../contracts/resources";
import { UNKNOWN, type Maybe } from "./types";
import type { ResourceRecord } from "./views";

export interface ValueLeaf {
  /** `bmc.password`, `instances[0].parameters.adminToken`. */
  readonly path: string;
  /** The last key on the path (array indices skipped). */
  readonly key: string;
  readonly value: string;
  /** Whether the value was a Pulumi secret; UNKNOWN when the caller cannot tell. */
  readonly secret: Maybe<boolean>;
}

export interface ValuesView {
  readonly ref: string;
  readonly kind: ResourceKind;
  readonly leaves: readonly ValueLeaf[];
}

/** Joins a path segment the way `ValueLeaf.path` and `ResourceRecord.secretPaths` spell paths. */
export function joinPath(base: string, seg: string | number): string {
  if (typeof seg === "number") return `${base}[${seg}]`;
  return base ? `${base}.${seg}` : seg;
}

/** True when `path` or one of its ancestors is a secret path. */
export function isUnderSecret(path: string, secretPaths: ReadonlySet<string>): boolean {
  for (const s of secretPaths) {
    if (path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`)) return true;
  }
  return false;
}

/** Flattens every known string of a resource's inputs into leaves (numbers and booleans hold no secret). */
export function valuesViewOf(r: Pick<ResourceRecord, "ref" | "kind" | "props" | "secretPaths">): ValuesView {
  const leaves: ValueLeaf[] = [];
  const walk = (v: unknown, path: string, key: string): void => {
    if (v === UNKNOWN || v === null || v === undefined) return;
    if (typeof v === "string") {
      const secret = r.secretPaths === UNKNOWN ? UNKNOWN : isUnderSecret(path, r.secretPaths);
      leaves.push({ path, key, value: v, secret });
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, joinPath(path, i), key));
    else if (typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, joinPath(path, k), k);
  };
  walk(r.props, "", "");
  return { ref: r.ref, kind: r.kind, leaves };
}
