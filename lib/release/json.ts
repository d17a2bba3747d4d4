/**
 * Parsing a signed document received as text (from the control plane or the node's own disk) within
 * bounds: its size before anything else, its nesting depth before JSON.parse (deep nesting would
 * overflow the stack of every recursive walk after it), and no key that names a prototype, so that
 * no later object spread or lookup can reach Object.prototype through it.
 */
import { escapeForMessage } from "../pki";

export type DocumentFailure = "too-large" | "too-deep" | "malformed";

export interface JsonBounds {
  readonly maxBytes: number;
  readonly maxDepth: number;
}

export type BoundedJson =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: DocumentFailure; readonly detail: string };

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Names that would reach Object.prototype when used to look something up in a plain object (a release
 * or an instance named "constructor"); documents refuse them as names.
 */
export function isReservedName(name: string): boolean {
  return FORBIDDEN_KEYS.has(name);
}

/** Parses `text` as JSON within `bounds`; never throws. `what` names the document in messages. */
export function parseBoundedJson(text: string | Buffer, bounds: JsonBounds, what: string): BoundedJson {
  const bytes = typeof text === "string" ? Buffer.byteLength(text) : text.length;
  if (bytes > bounds.maxBytes)
    return fail("too-large", `${what} is ${bytes} bytes; at most ${bounds.maxBytes} are accepted`);
  const s = typeof text === "string" ? text : text.toString("utf8");
  const depth = nestingDepth(s, bounds.maxDepth);
  if (depth > bounds.maxDepth)
    return fail("too-deep", `${what} nests deeper than ${bounds.maxDepth} levels; a genuine one does not`);
  let value: unknown;
  try {
    value = JSON.parse(s);
  } catch (e) {
    const shown = bytes === 0 ? "it is empty" : `${escapeForMessage((e as Error).message)}`;
    return fail("malformed", `${what} is not JSON (${shown}; ${bytes} bytes: truncated or not a document)`);
  }
  const key = forbiddenKey(value, "$");
  if (key !== undefined)
    return fail(
      "malformed",
      `${what} has a key "${escapeForMessage(key.name)}" at ${escapeForMessage(key.path)}; keys __proto__, constructor and prototype are refused`,
    );
  return { ok: true, value };
}

/** Deepest nesting of arrays and objects, outside strings; stops counting past `limit`. */
function nestingDepth(s: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** The first forbidden key, walking a value whose depth was bounded before parsing. */
function forbiddenKey(v: unknown, path: string): { name: string; path: string } | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const k = forbiddenKey(v[i], `${path}[${i}]`);
      if (k) return k;
    }
    return undefined;
  }
  for (const [name, child] of Object.entries(v)) {
    if (FORBIDDEN_KEYS.has(name)) return { name, path };
    const k = forbiddenKey(child, `${path}.${name}`);
    if (k) return k;
  }
  return undefined;
}

const fail = (reason: DocumentFailure, detail: string): BoundedJson => ({ ok: false, reason, detail });
