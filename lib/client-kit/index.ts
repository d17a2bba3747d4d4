/** lib/client-kit: a user's key, CSR and per-client kits for the datastores and Dask (docs/storage.md). */
export { KitError, type KitErrorKind } from "./errors";
export {
  makeRequest,
  requestInstructions,
  checkUserName,
  publicKeySha256,
  type RequestArgs,
  type RequestResult,
} from "./request";
export { acceptCertificate, type AcceptArgs, type AcceptedCertificate } from "./accept";
export { scanStacks, dataSetsOf, type DataSetEndpoint, type DatastoreScan } from "./datastores";
export { groupDataSets, type DataSetGroup } from "./connections";
export {
  clustersInStack,
  mergeClusters,
  daskSecurity,
  daskEntry,
  type DaskClusterEndpoint,
  type StackClusters,
} from "./clusters";
export {
  prepareKit,
  writeKits,
  needsKeystorePassword,
  KIT_TARGETS,
  MAX_CERT_FILE_BYTES,
  type KitTarget,
  type PrepareKitArgs,
  type PreparedKit,
} from "./kit";
export { checkOutPath, kitPaths } from "./out-dir";
