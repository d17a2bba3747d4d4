/**
 * Writes policies/npm-shrinkwrap.json: the pack's dependency tree, taken from the root lockfile so the
 * published pack installs exactly the versions this repository tests (`npm pack` ships a shrinkwrap,
 * never a package-lock). Run `npm --prefix policies run shrinkwrap` after the root lockfile changes;
 * test/integration/policies/published-pack.test.ts fails while the file is out of date. Build-time only.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface LockEntry {
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly [key: string]: unknown;
}
export interface Lock {
  readonly packages: Record<string, LockEntry>;
  readonly [key: string]: unknown;
}
interface PackManifest {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly dependencies?: Record<string, string>;
}

/** Lockfile paths (`node_modules/a/node_modules/b`) of every production dependency of `deps`. */
export function productionClosure(deps: Record<string, string>, lock: Lock): string[] {
  const found = new Set<string>();
  const resolveFrom = (from: string, name: string): string | undefined => {
    let base = from;
    for (;;) {
      const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (!base) return undefined;
      const i = base.lastIndexOf("/node_modules/");
      base = i < 0 ? "" : base.slice(0, i);
    }
  };
  const visit = (from: string, name: string, optional: boolean) => {
    const at = resolveFrom(from, name);
    if (!at) {
      if (optional) return;
      throw new Error(
        `${name} (needed by ${from || "the pack"}) is not in the root lockfile; run npm install`,
      );
    }
    if (found.has(at)) return;
    found.add(at);
    const e = lock.packages[at];
    for (const d of Object.keys(e.dependencies ?? {})) visit(at, d, false);
    for (const d of Object.keys(e.optionalDependencies ?? {})) visit(at, d, true);
    // npm installs required peers; optional ones (typescript, ts-node for @pulumi/pulumi) it does not.
    for (const d of Object.keys(e.peerDependencies ?? {}))
      if (e.peerDependenciesMeta?.[d]?.optional !== true) visit(at, d, false);
  };
  for (const d of Object.keys(deps)) visit("", d, false);
  return [...found].sort();
}

/** The shrinkwrap of `pack` with the root lockfile's entries for its production closure. */
export function shrinkwrapOf(pack: PackManifest, rootLock: Lock): Lock {
  const packages: Record<string, LockEntry> = {
    "": { name: pack.name, version: pack.version, license: pack.license, dependencies: pack.dependencies },
  };
  for (const path of productionClosure(pack.dependencies ?? {}, rootLock)) {
    // Flags describe the root's tree (dev-only, peer); in the pack every entry is a production one.
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = rootLock.packages[path];
    packages[path] = entry;
  }
  return { name: pack.name, version: pack.version, lockfileVersion: 3, requires: true, packages };
}

if (require.main === module) {
  const dir = __dirname;
  const pack = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackManifest;
  const rootLock = JSON.parse(readFileSync(join(dir, "..", "package-lock.json"), "utf8")) as Lock;
  writeFileSync(
    join(dir, "npm-shrinkwrap.json"),
    `${JSON.stringify(shrinkwrapOf(pack, rootLock), null, 2)}\n`,
  );
  process.stdout.write(`wrote ${join(dir, "npm-shrinkwrap.json")}\n`);
}
