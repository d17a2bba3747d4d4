/**
 * Canonical JSON: the exact bytes a signature covers and a digest names. Two programs that agree on
 * the value agree on the bytes, whatever order they wrote the keys in.
 *
 * Rules (a subset of RFC 8785, JCS, chosen so no floating-point formatting is ever involved):
 * - objects: keys sorted by UTF-16 code units (JavaScript's default sort), no duplicate keys;
 * - arrays: order kept;
 * - strings: JSON.stringify escaping (ECMAScript 2019+, the same as JCS);
 * - numbers: safe integers only (a float, NaN or Infinity is refused);
 * - true, false, null; no `undefined`, functions, dates, buffers or class instances;
 * - no whitespace; UTF-8 encoded.
 */
import * as crypto from "node:crypto";

export class CanonicalFormError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "CanonicalFormError";
  }
}

/** The canonical text of `value`; throws CanonicalFormError naming the first offending path. */
export function canonicalJson(value: unknown, path = "$"): string {
  if (value === null || typeof value === "boolean") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new CanonicalFormError(
        path,
        `number ${value} is not a safe integer; canonical form allows integers only (write decimals as strings)`,
      );
    }
    return Object.is(value, -0) ? "0" : String(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => canonicalJson(v, `${path}[${i}]`)).join(",")}]`;
  if (typeof value === "object" && isPlainObject(value)) {
    const entries = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map(
        (k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k], `${path}.${k}`)}`,
      );
    return `{${entries.join(",")}}`;
  }
  throw new CanonicalFormError(
    path,
    `a ${describe(value)} has no canonical JSON form; allowed: object, array, string, integer, boolean, null`,
  );
}

/** Canonical UTF-8 bytes of `value`. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), "utf8");
}

/** `sha256:<hex>` of the canonical bytes: the name by which other documents refer to `value`. */
export function canonicalDigest(value: unknown): string {
  return `sha256:${crypto.createHash("sha256").update(canonicalBytes(value)).digest("hex")}`;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (typeof v === "object" && v !== null) return (v as object).constructor?.name ?? "object";
  return typeof v;
}
