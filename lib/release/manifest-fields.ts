/**
 * Field checks of a release manifest: each throws ManifestError naming the field (its path), what was
 * received (cut short: a hostile value may be huge) and what is allowed.
 */
import { RELEASE_LIMITS } from "./limits";

export class ManifestError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "ManifestError";
  }
}

export function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ManifestError(where, `expected an object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

export function list(v: unknown, where: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw new ManifestError(where, `expected a list (use [] for none), got ${shown(v)}`);
  if (v.length > max) throw new ManifestError(where, `${v.length} entries; at most ${max}`);
  return v;
}

/** A received value for a message: JSON cut at 80 characters (a hostile value may be huge). */
export function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

export function str(v: unknown, where: string, re: RegExp, allowed: string): void {
  if (typeof v !== "string" || !re.test(v))
    throw new ManifestError(where, `got ${JSON.stringify(v)}; must be ${allowed}`);
}

/** A path inside the release or partition: relative, no "." or ".." segment, no control character. */
export function relPath(v: unknown, where: string): void {
  const bad =
    typeof v !== "string" ||
    v === "" ||
    v.length > RELEASE_LIMITS.pathLength ||
    v.startsWith("/") ||
    v.split("/").some((s) => s === ".." || s === "." || s === "") ||
    [...v].some((c) => c === "\\" || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (bad)
    throw new ManifestError(
      where,
      `got ${shown(v)}; must be a relative POSIX path of at most ${RELEASE_LIMITS.pathLength} characters, without "..", "." or control characters, e.g. "bin/server"`,
    );
}

export function unique(items: unknown[], key: string, where: string): void {
  const seen = new Set<unknown>();
  for (const it of items) {
    const k = (it as Record<string, unknown>)[key];
    if (seen.has(k)) throw new ManifestError(where, `duplicate ${key} ${shown(k)}; each may appear once`);
    seen.add(k);
  }
}
