/** lab/supervise: the supervisord that keeps each service of a management server running. */
export {
  ensureSupervised,
  programState,
  renderSupervisorConf,
  shutdownSupervisor,
  socketOf,
  startProgram,
  stopProgram,
  supervisorPid,
  type ProgramState,
  type SupervisedProgram,
} from "./supervisord";
export { findProcesses, processAlive, uidOf } from "./procscan";
