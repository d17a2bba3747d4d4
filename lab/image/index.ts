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
export { auditImage, LynisUnavailableError } from "./lynis";
export type { LynisRun, LynisOptions } from "./lynis";
export type { MirrorEntry } from "./mirrors";
