/**
 * The image's real PID 1 (agents/init/zr-init.py) on the host for tests and the agent benchmark: in
 * its own PID and mount namespaces (in `namespace` when given, else a fresh network namespace), with
 * a config of N on-demand partition supervisords under `root` and its request socket at
 * `<root>/init.sock`. PID 1 mounts a tmpfs on /run and /tmp when they are not mount points (in its
 * own mount namespace): `root` must be elsewhere, hence INIT_ROOT_BASE.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { partitionName, partitionPaths, partitionUid } from "../../../lib/hardening";
import type { InitConfig } from "../../../lib/hardening/render";
import { waitFor } from "./helpers";

export const INIT_SCRIPT = path.join(__dirname, "../../../agents/init/zr-init.py");
/** Where fixtures that run PID 1 keep their files: not under /tmp or /run, which PID 1 mounts over. */
export const INIT_ROOT_BASE = "/var/tmp";

export interface InitFixture {
  readonly child: ChildProcess;
  readonly socket: string;
  readonly logFile: string;
  /** The pid of PID 1 as the host sees it (the python process inside `unshare --fork`). */
  readonly hostPid: () => number | undefined;
}

/** Writes init.json for `partitions` on-demand supervisors (homes as makePartitions made them). */
export function writeInitConfig(
  root: string,
  partitionsRoot: string,
  partitions: number,
  agentUid: number,
): string {
  const nft = path.join(root, "nftables.conf");
  fs.writeFileSync(
    nft,
    "table inet zr_test_init {\n  chain input {\n    type filter hook input priority filter; policy accept;\n  }\n}\n",
  );
  fs.writeFileSync(path.join(root, "sysctl.conf"), "");
  const config: InitConfig = {
    nftables: nft,
    sysctl: path.join(root, "sysctl.conf"),
    readyMarker: path.join(root, "run", "ready"),
    stopTimeoutSeconds: 10,
    requests: { socket: path.join(root, "init.sock"), uid: agentUid, gid: agentUid, maxPerMinute: 120 },
    supervisors: Array.from({ length: partitions }, (_, i) => {
      const p = partitionPaths(partitionName(i), partitionsRoot);
      return {
        user: partitionName(i),
        uid: partitionUid(i),
        gid: partitionUid(i),
        home: p.home,
        config: `${p.supervisorDir}/supervisord.conf`,
        onDemand: true,
      };
    }),
  };
  const file = path.join(root, "init.json");
  fs.writeFileSync(file, JSON.stringify(config, null, 1));
  return file;
}

/** Starts zr-init with `configFile`; resolves once it is ready (its marker written). */
export async function startInit(root: string, configFile: string, namespace?: string): Promise<InitFixture> {
  const logFile = path.join(root, "init.log");
  const log = fs.openSync(logFile, "a");
  const inner = [
    "unshare",
    "--pid",
    "--fork",
    "--mount",
    "--propagation",
    "private",
    ...(namespace ? [] : ["--net"]),
    "/usr/bin/python3",
    "-I",
    INIT_SCRIPT,
    configFile,
  ];
  const argv = namespace ? ["ip", "netns", "exec", namespace, ...inner] : inner;
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ["ignore", log, log],
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" },
  });
  fs.closeSync(log);
  const marker = path.join(root, "run", "ready");
  await waitFor(
    () => fs.existsSync(marker) || child.exitCode !== null,
    20_000,
    `zr-init ready (${marker}); log: ${logFile}`,
  );
  if (child.exitCode !== null)
    throw new Error(
      `zr-init exited with ${child.exitCode}: ${fs.readFileSync(logFile, "utf8").slice(-2000)}`,
    );
  const hostPid = () => {
    // unshare's child: the python PID 1 (its only child)
    const kids = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/);
    const n = Number(kids[0]);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };
  return { child, socket: path.join(root, "init.sock"), logFile, hostPid };
}

/** SIGTERM to PID 1 (it stops its supervisords and exits); SIGKILL after `ms`. */
export async function stopInit(f: InitFixture | undefined, ms = 15_000): Promise<void> {
  if (!f || f.child.exitCode !== null) return;
  const done = new Promise((r) => f.child.once("exit", r));
  const pid = f.hostPid();
  if (pid) process.kill(pid, "SIGTERM");
  else f.child.kill("SIGTERM");
  await Promise.race([done, new Promise((r) => setTimeout(r, ms))]);
  if (f.child.exitCode === null) f.child.kill("SIGKILL");
}
