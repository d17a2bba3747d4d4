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
