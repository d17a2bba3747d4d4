import { join } from "node:path";
import { REPO_ROOT } from "../image/build";

export {
  bootServer,
  haltServer,
  serverStatus,
  waitReady,
  serverProcesses,
  execInServer,
  installDisk,
  wipeDisk,
  diskInstalled,
  knownServers,
} from "./server";
export type {
  BootDevice,
  BootOptions,
  NetbootConfig,
  ServerStatus,
  HaltResult,
  ExecOptions,
  LabServerOptions,
} from "./server";
export { serverPaths, defaultLabDir, defaultNetns, ServerError } from "./paths";
export type { ServerPaths } from "./paths";
export type { ServerProcess } from "./procfs";

/**
 * argv of this package's command line, absolute so a BMC hook can run it from any directory:
 * `[...labServerCommand(), "boot", id, "--device"]` is a BMC simulator's bootCommand (the hook
 * appends the device), `[...labServerCommand(), "halt", id]` its haltCommand.
 */
export const labServerCommand = (): string[] => [
  join(REPO_ROOT, "node_modules/.bin/tsx"),
  join(REPO_ROOT, "lab/server/cli.ts"),
];
