/**
 * Access helpers the view builders share: they tolerate UNKNOWN at any depth and malformed input, so a
 * view of a half-known or ill-typed resource is still a view (its fields are UNKNOWN or undefined).
 */
import { UNKNOWN, type Maybe, type Unknown } from "./types";

type Obj = Record<string, unknown>;
/** `o[key]`, UNKNOWN when `o` is UNKNOWN, undefined when `o` is not an object. */
export function at(o: unknown, key: string): unknown {
  if (o === UNKNOWN) return UNKNOWN;
  if (!o || typeof o !== "object" || Array.isArray(o)) return undefined;
  return (o as Obj)[key];
}
export function list(v: unknown): Maybe<readonly unknown[]> | undefined {
  if (v === UNKNOWN) return UNKNOWN;
  return Array.isArray(v) ? v : undefined;
}
export function str(v: unknown): Maybe<string> | undefined {
  return v === UNKNOWN ? UNKNOWN : typeof v === "string" ? v : undefined;
}
export function num(v: unknown): Maybe<number> | undefined {
  return v === UNKNOWN ? UNKNOWN : typeof v === "number" ? v : undefined;
}
export function bool(v: unknown): Maybe<boolean> | undefined {
  return v === UNKNOWN ? UNKNOWN : typeof v === "boolean" ? v : undefined;
}
export function mapList<T>(v: unknown, f: (item: unknown, i: number) => T): Maybe<readonly T[]> | undefined {
  const l = list(v);
  if (l === UNKNOWN || l === undefined) return l as Unknown | undefined;
  return l.map(f);
}
/** A list of strings; elements that are not strings are converted, UNKNOWN elements kept. */
export function strs(v: unknown): Maybe<readonly Maybe<string>[]> | undefined {
  return mapList(v, (x): Maybe<string> => (x === UNKNOWN ? UNKNOWN : String(x)));
}
/** A list of numbers; elements that are not numbers are converted, UNKNOWN elements kept. */
export function nums(v: unknown): Maybe<readonly Maybe<number>[]> | undefined {
  return mapList(v, (x): Maybe<number> => (x === UNKNOWN ? UNKNOWN : Number(x)));
}
/** `f(o)` for a present object, UNKNOWN when `o` is UNKNOWN, undefined when `o` is absent. */
export function objectOf<T>(o: unknown, f: (o: unknown) => T): Maybe<T> | undefined {
  return o === UNKNOWN ? UNKNOWN : o === undefined ? undefined : f(o);
}
