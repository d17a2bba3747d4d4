export * from "./types";
export * from "./errors";
export { IpmitoolBmcClient, probeCipherZero, acceptsCipherZero } from "./client";
export type { IpmitoolClientOptions, CipherZeroProbe } from "./client";
export { spawnRunner } from "./runner";
export { DEFAULT_RETRY, backoffDelay, type RetryPolicy } from "./retry";
export {
  PASSWORD_ENV,
  sessionArgs,
  parsePowerStatus,
  parseBootParam,
  classifyFailure,
  failureDetail,
} from "./ipmitool";
export {
  rotateBmcCredential,
  checkBmcCredential,
  BmcRotationError,
  type BmcAddress,
  type BmcLogin,
  type CredentialCheck,
  type RotationRequest,
  type RotationResult,
} from "./credential";
export {
  MANAGED_USER_DEFAULTS,
  MANAGED_PASSWORD,
  MIN_MANAGED_PASSWORD_LENGTH,
  managedPasswordProblem,
  managedUserSpecProblem,
  nextSlot,
  parseUserList,
  setUserScript,
  slotProblem,
  slotUsername,
  type BmcUser,
  type ManagedUserSpec,
} from "./users";
