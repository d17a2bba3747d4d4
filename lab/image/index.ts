export {
  buildImage,
  cachedImage,
  unpackImage,
  applySpec,
  verifyShippedFiles,
  defaultCacheDir,
  fileSha256,
  ImageBuildError,
  REPO_ROOT,
} from "./build";
export type { BuildOptions, BuiltImage, ImageManifest } from "./build";
export { hostMirrors, mirrorLine } from "./mirrors";
export type { MirrorEntry } from "./mirrors";
