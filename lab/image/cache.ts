/**
 * The image cache: images are named by their spec's hash, with a manifest beside each; one build of an
 * image at a time (a lock directory); unpacking an image onto a lab server's disk.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Finding, HardenedImageSpec, specHash } from "../../lib/hardening";
import { q, run, sh } from "./exec";

export const REPO_ROOT = resolve(__dirname, "../..");
export const defaultCacheDir = (root = REPO_ROOT) => join(root, ".zeroroot/cache/images");

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

export async function fileSha256(path: string): Promise<string> {
  return (await run(["sha256sum", path])).stdout.split(" ")[0];
}

/** A lock directory; waits for another build of the same image (or takes over a dead one's). */
export async function acquireLock(path: string, timeoutMs = 10 * 60_000): Promise<() => void> {
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
