/**
 * Builds the hardened image from its spec: mmdebstrap (minbase + the spec's packages), then the
 * spec applied (users, locked root, firewall, supervisord configs, PID 1, setuid bits stripped),
 * then lib/hardening's checks, then `tar | zstd` into the cache, named by the spec's hash. A build
 * whose checks find anything is never cached. Needs root (mmdebstrap root mode, chroot, chown).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkRootfs, installedPackages, HardenedImageSpec, specHash } from "../../lib/hardening";
import { applySpec } from "./apply";
import {
  acquireLock,
  cachedImage,
  defaultCacheDir,
  fileSha256,
  ImageBuildError,
  REPO_ROOT,
  type BuiltImage,
  type ImageManifest,
} from "./cache";
import { q, run, sh } from "./exec";
import { hostMirrors, mirrorLine } from "./mirrors";

export { applySpec } from "./apply";
export {
  cachedImage,
  defaultCacheDir,
  fileSha256,
  ImageBuildError,
  REPO_ROOT,
  unpackImage,
  type BuiltImage,
  type ImageManifest,
} from "./cache";

export interface BuildOptions {
  /** @default - `<repo>/.zeroroot/cache/images` */
  readonly cacheDir?: string;
  /** Where `spec.files[].source` paths are read from. @default - the repository root */
  readonly repoRoot?: string;
  /** apt sources to take the suite's mirrors from. @default - the host's /etc/apt */
  readonly sourcesDir?: string;
  /** Progress lines. @default - none */
  readonly log?: (line: string) => void;
}

/** Returns the cached image for this spec, building it first when absent. Concurrent callers share one build. */
export async function buildImage(spec: HardenedImageSpec, opts: BuildOptions = {}): Promise<BuiltImage> {
  const started = Date.now();
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const hit = cachedImage(spec, cacheDir);
  if (hit) return { ...hit, seconds: (Date.now() - started) / 1000 };
  if (process.getuid?.() !== 0)
    throw new ImageBuildError(
      "building the hardened image needs root (mmdebstrap, chroot, chown): run as root",
    );
  verifyShippedFiles(spec, opts.repoRoot ?? REPO_ROOT);
  mkdirSync(cacheDir, { recursive: true });
  const hash = specHash(spec);
  const release = await acquireLock(join(cacheDir, `${hash}.lock`));
  try {
    const again = cachedImage(spec, cacheDir);
    if (again) return { ...again, seconds: (Date.now() - started) / 1000 };
    const work = join(cacheDir, `${hash}.build-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    try {
      return await buildInto(work, spec, hash, cacheDir, opts, started);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  } finally {
    release();
  }
}

/**
 * Makes the spec's stand-in packages (roles.ts StandInPackage): empty, architecture-independent,
 * providing what they stand for. Returns the .deb paths.
 */
async function makeStandIns(dir: string, spec: HardenedImageSpec): Promise<string[]> {
  const debs: string[] = [];
  for (const s of spec.standIns) {
    const root = join(dir, s.name);
    mkdirSync(join(root, "DEBIAN"), { recursive: true });
    writeFileSync(
      join(root, "DEBIAN", "control"),
      [
        `Package: ${s.name}`,
        "Version: 1",
        "Architecture: all",
        "Maintainer: zeroroot image build <root@localhost>",
        `Provides: ${s.provides.join(", ")}`,
        `Description: stands for ${s.provides.join(", ")} (empty)`,
        ` ${s.why}`,
        "",
      ].join("\n"),
    );
    const deb = join(dir, `${s.name}_1_all.deb`);
    await run(["dpkg-deb", "--root-owner-group", "-b", root, deb]);
    debs.push(deb);
  }
  return debs;
}

/** Bootstraps, applies, checks and packs the image in `work`, then moves it into the cache. */
async function buildInto(
  work: string,
  spec: HardenedImageSpec,
  hash: string,
  cacheDir: string,
  opts: BuildOptions,
  started: number,
): Promise<BuiltImage> {
  const log = opts.log ?? (() => undefined);
  const rootfs = join(work, "rootfs");
  const mirrors = hostMirrors(spec.suite, opts.sourcesDir).map(mirrorLine);
  if (mirrors.length === 0)
    throw new ImageBuildError(
      `no apt source for ${spec.suite} in /etc/apt/sources.list(.d): add the Debian ${spec.suite} mirror the host should use`,
    );
  log(`mmdebstrap ${spec.suite} (${spec.packages.length} packages on minbase)`);
  const standIns = await makeStandIns(join(work, "stand-ins"), spec);
  await run([
    "mmdebstrap",
    "--mode=root",
    `--variant=${spec.variant}`,
    `--include=${spec.packages.join(",")}`,
    // a path is its own --include; the hook makes it visible to dpkg inside the chroot
    ...standIns.map((deb) => `--include=${deb}`),
    ...(standIns.length > 0 ? ["--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount"] : []),
    // merge /usr with symlinks and install the empty usr-is-merged, so that minbase does not pull in
    // usrmerge and the full Perl it needs (spec.unwantedPackages; checkRootfs verifies)
    "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    ...spec.dpkgPathExcludes.map((p) => `--dpkgopt=path-exclude=${p}`),
    ...spec.dpkgPathIncludes.map((p) => `--dpkgopt=path-include=${p}`),
    spec.suite,
    rootfs,
    ...mirrors,
  ]);
  log("applying the spec");
  await applySpec(rootfs, spec, opts.repoRoot ?? REPO_ROOT);
  const findings = checkRootfs(rootfs, spec);
  if (findings.length > 0) {
    throw new ImageBuildError(
      `the built rootfs fails its checks (not cached):\n${findings.map((f) => `  - ${f.id}: ${f.message}`).join("\n")}`,
      findings,
    );
  }
  const packages = Object.fromEntries(installedList(rootfs));
  const unpackedBytes = Number((await run(["du", "-sb", rootfs])).stdout.split("\t")[0]);
  log("packing");
  const tmp = join(work, "image.tar.zst");
  await sh(`tar --numeric-owner --xattrs --acls -C ${q(rootfs)} -cf - . | zstd -q -T0 -9 -o ${q(tmp)}`);
  const sha256 = await fileSha256(tmp);
  const manifest: ImageManifest = {
    specHash: hash,
    spec,
    sha256,
    sizeBytes: statSync(tmp).size,
    unpackedBytes,
    packages,
    mirrors,
    buildSeconds: (Date.now() - started) / 1000,
    builtAt: new Date().toISOString(),
  };
  const path = join(cacheDir, `${hash}.tar.zst`);
  const manifestPath = join(cacheDir, `${hash}.json`);
  renameSync(tmp, path);
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
  return { path, manifestPath, manifest, cacheHit: false, seconds: (Date.now() - started) / 1000 };
}

function installedList(rootfs: string): [string, string][] {
  return [...installedPackages(rootfs).entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Refuses to build when a file shipped into the image no longer matches the digest in the spec. */
export function verifyShippedFiles(spec: HardenedImageSpec, repoRoot: string): void {
  for (const f of spec.files) {
    const src = join(repoRoot, f.source);
    const actual = existsSync(src)
      ? createHash("sha256").update(readFileSync(src)).digest("hex")
      : "(missing)";
    if (actual !== f.sha256) {
      throw new ImageBuildError(
        `${f.source} has sha256 ${actual} but the image spec ships it as ${f.sha256}: update SHIPPED_FILES in lib/hardening/spec.ts (this changes the spec hash, so the image is rebuilt)`,
      );
    }
  }
}
