/**
 * The hardened image every lab test shares: built once (about a minute) into the project cache
 * (`.zeroroot/cache/images/<specHash>.tar.zst`) and found there by every later test and run.
 */
import { resolveHardenedImageSpec, HardenedImageSpec } from "../../../lib/hardening";
import { buildImage, BuiltImage } from "../../../lab/image";

let shared: Promise<BuiltImage> | undefined;

export const labSpec = (): HardenedImageSpec => resolveHardenedImageSpec();

export function labImage(): Promise<BuiltImage> {
  shared ??= buildImage(labSpec(), { log: (l) => process.stderr.write(`      [image] ${l}\n`) });
  return shared;
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new Error("lab tests need root (mmdebstrap, chroot, namespaces): run `sudo npm run test:lab`");
}
