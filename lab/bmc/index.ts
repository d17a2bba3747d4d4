export {
  resolveBmcSimSpec,
  renderLanConf,
  renderEmuCmd,
  renderHookConf,
  simPaths,
  HOOK_SCRIPT,
} from "./config";
export type { BmcSimSpec, ResolvedBmcSimSpec } from "./config";
export {
  startBmcSim,
  stopBmcSim,
  resetBmcSimUsers,
  bmcSimStatus,
  bmcSimEvents,
  setSimBootDevice,
  runningSimPid,
  procNetUdpKey,
  bmcSimEnv,
  BMC_SIM_PASSED_ENV,
} from "./sim";
export type { BmcSimHandle, BmcSimStatus } from "./sim";
