/** Where a lab server's disk and runtime state live on the host. */
import { join } from "node:path";
import { currentLabId, labDirOf, labPrefixOf } from "../orchestrate/lab-id";

/** The current lab's folder (lab/orchestrate/lab-id.ts: $ZEROROOT_LAB_ID, $ZEROROOT_LAB_DIR). */
export const defaultLabDir = () => labDirOf(currentLabId());

const SERVER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export class ServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerError";
  }
}

export function checkServerId(server: string): void {
  if (!SERVER_ID.test(server))
    throw new ServerError(
      `server id ${JSON.stringify(server)} is not valid: use 1-63 of [A-Za-z0-9._-], starting with a letter or digit`,
    );
}

export interface ServerPaths {
  /** The server's disk: the installed root filesystem itself; survives power cycles. */
  readonly disk: string;
  /** Runtime state (the machine's "RAM"): pid, console log; removed on halt except the console. */
  readonly runDir: string;
  readonly stateFile: string;
  readonly console: string;
  readonly installerExit: string;
  /** Netboot configuration of this server: what the PXE path runs (written by provisioning / lab up). */
  readonly netboot: string;
  /** Used when the server has no netboot file of its own. */
  readonly netbootDefault: string;
}

export function serverPaths(server: string, labDir = defaultLabDir()): ServerPaths {
  checkServerId(server);
  const runDir = join(labDir, "servers", server);
  return {
    disk: join(labDir, "disks", server),
    runDir,
    stateFile: join(runDir, "state.json"),
    console: join(runDir, "console.log"),
    installerExit: join(runDir, "installer.exit"),
    netboot: join(labDir, "netboot", `${server}.json`),
    netbootDefault: join(labDir, "netboot", "default.json"),
  };
}

/** The network namespace of a server when none is given: lab/net's `<prefix><id>` of the current lab. */
export const defaultNetns = (server: string) => `${labPrefixOf(currentLabId())}${server}`;
