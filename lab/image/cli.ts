/**
 * `tsx lab/image/cli.ts build [--json] [--cache-dir DIR]`: builds (or finds in the cache) the
 * hardened image of the default spec and prints where it is. Exit 0 built/cached, 1 checks failed,
 * 3 environment (not root, mmdebstrap missing).
 */
import { resolveHardenedImageSpec } from "../../lib/hardening";
import { buildImage, ImageBuildError } from "./build";

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== "build") {
    process.stderr.write("usage: lab/image/cli.ts build [--json] [--cache-dir DIR]\n");
    return 2;
  }
  const json = rest.includes("--json");
  const i = rest.indexOf("--cache-dir");
  const cacheDir = i >= 0 ? rest[i + 1] : undefined;
  const spec = resolveHardenedImageSpec();
  const image = await buildImage(spec, {
    cacheDir,
    log: json ? undefined : (l) => process.stderr.write(`image: ${l}\n`),
  });
  if (json)
    process.stdout.write(
      JSON.stringify({
        path: image.path,
        cacheHit: image.cacheHit,
        seconds: image.seconds,
        specHash: image.manifest.specHash,
        sha256: image.manifest.sha256,
        sizeBytes: image.manifest.sizeBytes,
      }) + "\n",
    );
  else
    process.stdout.write(
      `${image.path} (${image.cacheHit ? "cache hit" : "built"} in ${image.seconds.toFixed(1)} s, ${(image.manifest.sizeBytes / 1e6).toFixed(1)} MB)\n`,
    );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`image: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(e instanceof ImageBuildError ? (e.findings.length > 0 ? 1 : 3) : 1);
  },
);
