/**
 * Semantic versions (semver.org 2.0.0): parsing and precedence. Rollback protection depends on this
 * order, so it follows the specification exactly: numeric fields compared as numbers, a pre-release
 * below its release, pre-release identifiers compared field by field (numeric < alphanumeric), and
 * build metadata ignored for precedence.
 */

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease: readonly (string | number)[];
  readonly build: readonly string[];
  readonly text: string;
}

const NUM = "0|[1-9]\\d*";
const PRE_ID = `(?:${NUM}|\\d*[a-zA-Z-][0-9a-zA-Z-]*)`;
const SEMVER = new RegExp(
  `^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$`,
);

/** Parses a version, or returns undefined when it is not semver 2.0.0 (e.g. "1.2", "v1.2.3", "01.2.3"). */
export function parseSemVer(text: string): SemVer | undefined {
  const m = SEMVER.exec(text);
  if (!m) return undefined;
  const nums = [m[1], m[2], m[3]].map(Number);
  if (!nums.every(Number.isSafeInteger)) return undefined;
  const prerelease = m[4] ? m[4].split(".").map((id) => (/^\d+$/.test(id) ? Number(id) : id)) : [];
  return {
    major: nums[0],
    minor: nums[1],
    patch: nums[2],
    prerelease,
    build: m[5] ? m[5].split(".") : [],
    text,
  };
}

/** Negative when a < b, 0 when equal precedence, positive when a > b. Throws on a non-semver input. */
export function compareSemVer(a: string | SemVer, b: string | SemVer): number {
  const x = typeof a === "string" ? mustParse(a) : a;
  const y = typeof b === "string" ? mustParse(b) : b;
  for (const k of ["major", "minor", "patch"] as const) if (x[k] !== y[k]) return x[k] < y[k] ? -1 : 1;
  if (x.prerelease.length === 0 || y.prerelease.length === 0) {
    return y.prerelease.length - x.prerelease.length === 0 ? 0 : x.prerelease.length === 0 ? 1 : -1;
  }
  const n = Math.min(x.prerelease.length, y.prerelease.length);
  for (let i = 0; i < n; i++) {
    const p = x.prerelease[i];
    const q = y.prerelease[i];
    if (p === q) continue;
    if (typeof p === "number" && typeof q === "number") return p < q ? -1 : 1;
    if (typeof p === "number") return -1;
    if (typeof q === "number") return 1;
    return p < q ? -1 : 1;
  }
  return x.prerelease.length === y.prerelease.length ? 0 : x.prerelease.length < y.prerelease.length ? -1 : 1;
}

function mustParse(v: string): SemVer {
  const p = parseSemVer(v);
  if (!p)
    throw new Error(
      `version "${v}" is not a semantic version; allowed: MAJOR.MINOR.PATCH[-pre][+build], e.g. 10.11.6 or 2.0.0-rc.1`,
    );
  return p;
}
