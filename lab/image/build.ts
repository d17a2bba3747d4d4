/**
 * Builds the hardened image from its spec: mmdebstrap (minbase + the spec's packages), then the
 * spec applied (users, locked root, firewall, supervisord configs, PID 1, setuid bits stripped),
 * then lib/hardening's checks, then `tar | zstd` into the cache, named by the spec's hash. A build
 * whose checks find anything is never cached. Needs root (mmdebstrap root mode, chroot, chown).
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import {
  checkRootfs,
  Finding,
  installedPackages,
  HardenedImageSpec,
  IMAGE_PATHS,
  specHash,
  supervisorDir,
} from "../../lib/hardening";
import { applyLoginDefs, renderModprobe, renderSysctl } from "../../lib/hardening/tuning";
import { renderInitConfig, renderNftablesRuleset, renderSupervisordConf } from "../../lib/hardening/render";
import { q, run, sh } from "./exec";
import { hostMirrors, mirrorLine } from "./mirrors";

export const REPO_ROOT = resolve(__dirname, "../..");
export const defaultCacheDir = (root = REPO_ROOT) => join(root, ".zeroroot/cache/images");

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

/** Written next to each cached image as `<specHash>.json`. */
export interface ImageManifest {
  readonly specHash: string;
  readonly spec: HardenedImageSpec;
  /** SHA-256 (hex) of the .tar.zst file: what the installer verifies after download. */
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly unpackedBytes: number;
  readonly packages: Readonly<Record<string, string>>;
  readonly mirrors: readonly string[];
  readonly buildSeconds: number;
  readonly builtAt: string;
}

export interface BuiltImage {
  readonly path: string;
  readonly manifestPath: string;
  readonly manifest: ImageManifest;
  readonly cacheHit: boolean;
  readonly seconds: number;
}

export class ImageBuildError extends Error {
  constructor(
    message: string,
    readonly findings: readonly Finding[] = [],
  ) {
    super(message);
    this.name = "ImageBuildError";
  }
}

export function cachedImage(spec: HardenedImageSpec, cacheDir = defaultCacheDir()): BuiltImage | undefined {
  const hash = specHash(spec);
  const path = join(cacheDir, `${hash}.tar.zst`);
  const manifestPath = join(cacheDir, `${hash}.json`);
  if (!existsSync(path) || !existsSync(manifestPath)) return undefined;
  return {
    path,
    manifestPath,
    manifest: JSON.parse(readFileSync(manifestPath, "utf8")) as ImageManifest,
    cacheHit: true,
    seconds: 0,
  };
}

/** Returns the cached image for this spec, building it first when absent. Concurrent callers share one build. */
export async function buildImage(spec: HardenedImageSpec, opts: BuildOptions = {}): Promise<BuiltImage> {
  const started = Date.now();
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const log = opts.log ?? (() => undefined);
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
    const rootfs = join(work, "rootfs");
    mkdirSync(work, { recursive: true });
    try {
      const mirrors = hostMirrors(spec.suite, opts.sourcesDir).map(mirrorLine);
      if (mirrors.length === 0)
        throw new ImageBuildError(
          `no apt source for ${spec.suite} in /etc/apt/sources.list(.d): add the Debian ${spec.suite} mirror the host should use`,
        );
      log(`mmdebstrap ${spec.suite} (${spec.packages.length} packages on minbase)`);
      await run([
        "mmdebstrap",
        "--mode=root",
        `--variant=${spec.variant}`,
        `--include=${spec.packages.join(",")}`,
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
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  } finally {
    release();
  }
}

function installedList(rootfs: string): [string, string][] {
  return [...installedPackages(rootfs).entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

export async function fileSha256(path: string): Promise<string> {
  return (await run(["sha256sum", path])).stdout.split(" ")[0];
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

const write = (rootfs: string, path: string, content: string, mode: number, uid = 0) => {
  const abs = join(rootfs, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  chmodSync(abs, mode);
  chownSync(abs, uid, uid);
};

/** Applies the spec to a freshly bootstrapped rootfs (as root on the host). */
export async function applySpec(rootfs: string, spec: HardenedImageSpec, repoRoot: string): Promise<void> {
  const chroot = (...argv: string[]) =>
    run(["chroot", rootfs, ...argv], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" } });
  await chroot("passwd", "--lock", "root");
  await chroot("usermod", "--shell", "/usr/sbin/nologin", "root");
  for (const u of spec.users) {
    await chroot("groupadd", "--gid", String(u.uid), u.name);
    await chroot(
      "useradd",
      "--uid",
      String(u.uid),
      "--gid",
      String(u.uid),
      "--home-dir",
      u.home,
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      u.name,
    );
    for (const [dir, mode] of [
      [u.home, 0o750],
      [supervisorDir(u), 0o700],
      [`${supervisorDir(u)}/log`, 0o700],
      [`${supervisorDir(u)}/conf.d`, 0o700],
    ] as const) {
      mkdirSync(join(rootfs, dir), { recursive: true });
      chmodSync(join(rootfs, dir), mode);
      chownSync(join(rootfs, dir), u.uid, u.uid);
    }
    write(rootfs, `${supervisorDir(u)}/supervisord.conf`, renderSupervisordConf(u), 0o600, u.uid);
  }
  write(rootfs, IMAGE_PATHS.nftables, renderNftablesRuleset(spec.firewall), 0o600);
  write(rootfs, IMAGE_PATHS.sysctl, renderSysctl(spec.sysctl), 0o644);
  write(rootfs, IMAGE_PATHS.modprobe, renderModprobe(spec.modprobeDisabled), 0o644);
  write(rootfs, IMAGE_PATHS.limits, spec.limits, 0o644);
  write(rootfs, IMAGE_PATHS.initConfig, JSON.stringify(renderInitConfig(spec), null, 2) + "\n", 0o644);
  write(
    rootfs,
    IMAGE_PATHS.specFile,
    JSON.stringify({ specHash: specHash(spec), spec }, null, 2) + "\n",
    0o644,
  );
  write(
    rootfs,
    "/etc/login.defs",
    applyLoginDefs(readFileSync(join(rootfs, "etc/login.defs"), "utf8"), spec.loginDefs),
    0o644,
  );
  write(rootfs, "/etc/issue", spec.banner, 0o644);
  write(rootfs, "/etc/issue.net", spec.banner, 0o644);
  // The host's identity must not leak into the image: the installer and the site set these.
  write(rootfs, "/etc/hostname", "localhost\n", 0o644);
  write(rootfs, "/etc/resolv.conf", "# written by the installer from the site's configuration\n", 0o644);
  write(rootfs, "/etc/machine-id", "", 0o444);
  for (const f of spec.files) {
    const abs = join(rootfs, f.path);
    mkdirSync(dirname(abs), { recursive: true });
    copyFileSync(join(repoRoot, f.source), abs);
    chmodSync(abs, f.mode);
    chownSync(abs, 0, 0);
  }
  if (spec.stripSetuid) stripSetuid(rootfs, "");
  rmSync(join(rootfs, "var/cache/apt"), { recursive: true, force: true });
  mkdirSync(join(rootfs, "var/cache/apt/archives/partial"), { recursive: true });
}

function stripSetuid(rootfs: string, rel: string): void {
  for (const e of readdirSync(join(rootfs, rel))) {
    const r = `${rel}/${e}`;
    if (r === "/proc" || r === "/sys" || r === "/dev") continue;
    const st = lstatSync(join(rootfs, r));
    if (st.isDirectory()) stripSetuid(rootfs, r);
    else if (st.isFile() && (st.mode & 0o6000) !== 0) chmodSync(join(rootfs, r), st.mode & 0o1777);
  }
}

/** A lock directory; waits for another build of the same image (or takes over a dead one's). */
async function acquireLock(path: string, timeoutMs = 10 * 60_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, "pid"), String(process.pid));
      return () => rmSync(path, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = Number(readFileOr(join(path, "pid")));
      if (owner && !alive(owner)) {
        rmSync(path, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new ImageBuildError(
          `another build holds ${path} for more than ${timeoutMs / 1000}s (pid ${owner}); remove the directory if that process is gone`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const readFileOr = (p: string) => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Unpacks a cached image into an empty directory (a lab server's disk). */
export async function unpackImage(imagePath: string, dest: string): Promise<void> {
  mkdirSync(dest, { recursive: true });
  if (readdirSync(dest).length > 0)
    throw new ImageBuildError(
      `${dest} is not empty: unpack the image into an empty directory (wipe the disk first)`,
    );
  await sh(`zstd -q -dc ${q(imagePath)} | tar --numeric-owner --xattrs --acls -C ${q(dest)} -xpf -`);
}
