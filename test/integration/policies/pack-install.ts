/**
 * The policy pack as `pulumi policy publish` ships it: `npm pack` of policies/ (which runs the
 * `prepack` build), extracted alone into a temporary folder, with exactly the packages its
 * npm-shrinkwrap.json lists copied from this repository's node_modules (same versions: the
 * shrinkwrap is the root lockfile's tree, checked in published-pack.test.ts). A copy, not `npm ci`
 * (35 s here) nor symlinks: every file the pack loads lies inside the folder.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const REPO = resolve(__dirname, "../../..");

/** Runs `npm pack` in policies/ and extracts the tarball; returns the pack folder and what it holds. */
export function packPolicies(into: string): { dir: string; files: string[] } {
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", into], {
    cwd: join(REPO, "policies"),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  // The prepack build prints its banner before the JSON.
  const [info] = JSON.parse(out.slice(out.indexOf("\n[") + 1)) as {
    filename: string;
    files: { path: string }[];
  }[];
  execFileSync("tar", ["-xzf", join(into, info.filename), "-C", into]);
  return { dir: join(into, "package"), files: info.files.map((f) => f.path).sort() };
}

/** Copies the packages the pack's shrinkwrap lists, and only those, into `dir/node_modules`. */
export function installFromShrinkwrap(dir: string): void {
  const wrap = JSON.parse(readFileSync(join(dir, "npm-shrinkwrap.json"), "utf8")) as {
    packages: Record<string, unknown>;
  };
  // Sorted, a package comes before the ones nested in it.
  for (const path of Object.keys(wrap.packages).filter(Boolean).sort()) {
    const src = join(REPO, path);
    if (!existsSync(src)) continue; // an optional dependency for another platform
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    execFileSync("cp", ["-a", src, dirname(join(dir, path))]);
    // Nested packages come from their own entries, or not at all.
    rmSync(join(dir, path, "node_modules"), { recursive: true, force: true });
  }
}

/** A fresh temporary folder holding the published pack with its production dependencies installed. */
export function installedPack(): { root: string; dir: string; files: string[] } {
  const root = mkdtempSync(join(tmpdir(), "zeroroot-pack-"));
  const { dir, files } = packPolicies(root);
  installFromShrinkwrap(dir);
  return { root, dir, files };
}
