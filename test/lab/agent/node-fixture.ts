/**
 * The computer side of the agent's lab, on the host but unprivileged: N partitions each with its own
 * supervisord run as the partition uid (setpriv, no capabilities), /etc/zeroroot as the installer
 * writes it, and the bundled agent run as uid 2000 with the partitions' groups only, in the
 * computer's namespaces (node-namespaces.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { TRUST_KIND } from "../../../lib/agent";
import {
  PARTITION_DIR_MODES,
  partitionName,
  partitionPaths,
  partitionUid,
  renderSupervisordConf,
} from "../../../lib/hardening";
import { AGENT_ENVIRONMENT } from "../../../agents/node/bundle";
import type { IssuedIdentity } from "../../../lab/controlplane";
import { COMPUTER, ZONE } from "./control-plane-fixture";
import { sleep, waitFor } from "./helpers";
import { enterNode, enteredPid } from "./node-namespaces";

export const AGENT_UID = 2000;

/** Each partition's home, with the image's directory modes and an empty supervisord.conf. */
export function makePartitions(partitionsRoot: string, partitions: number): void {
  for (let i = 0; i < partitions; i++) {
    const user = partitionName(i);
    const uid = partitionUid(i);
    const p = partitionPaths(user, partitionsRoot);
    fs.mkdirSync(partitionsRoot, { recursive: true, mode: 0o755 });
    for (const d of PARTITION_DIR_MODES) {
      const dir = path.join(p.home, d.rel);
      fs.mkdirSync(dir, { recursive: true });
      fs.chownSync(dir, uid, uid);
      fs.chmodSync(dir, d.mode);
    }
    const conf = path.join(p.supervisorDir, "supervisord.conf");
    fs.writeFileSync(
      conf,
      renderSupervisordConf({ name: user, uid, home: p.home, programs: [], partition: true }),
    );
    fs.chownSync(conf, uid, uid);
    fs.chmodSync(conf, 0o600);
  }
}

/** Starts every partition's supervisord as its own uid in the computer's namespaces (see waitForSupervisords). */
export function spawnSupervisords(
  nodePid1: number,
  partitionsRoot: string,
  partitions: number,
): ChildProcess[] {
  const children: ChildProcess[] = [];
  for (let i = 0; i < partitions; i++) {
    const uid = partitionUid(i);
    const p = partitionPaths(partitionName(i), partitionsRoot);
    const [command, ...args] = [
      ...enterNode(nodePid1, p.home),
      ...["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--no-new-privs"],
      ...["--inh-caps=-all", "--bounding-set=-all", "--"],
      ...["/usr/bin/supervisord", "--nodaemon", "--configuration", `${p.supervisorDir}/supervisord.conf`],
    ];
    const child = spawn(command, args, {
      stdio: "ignore",
      env: { PATH: "/usr/bin:/bin", HOME: p.home, LANG: "C.UTF-8" },
    });
    children.push(child);
  }
  return children;
}

/** Waits (30 s at most) for every partition's supervisord socket. */
export async function waitForSupervisords(partitionsRoot: string, partitions: number): Promise<void> {
  await waitFor(
    () =>
      Array.from({ length: partitions }, (_, i) =>
        fs.existsSync(partitionPaths(partitionName(i), partitionsRoot).socket),
      ).every(Boolean),
    30_000,
    "every partition's supervisord socket",
  );
}

export interface AgentConfigFiles {
  /** /etc/zeroroot's stand-in. */
  readonly configDir: string;
  /** The agent's state directory (not the control plane's). */
  readonly agentStateDir: string;
  readonly partitionsRoot: string;
  readonly releasesDir: string;
  readonly partitions: number;
  readonly computerId: IssuedIdentity;
  readonly rootPem: string;
  readonly endpoints: readonly string[];
  readonly intervals?: Record<string, number>;
  readonly anomaly?: Record<string, number>;
  /** agent.json controlPlane.requireFreshness. @default false */
  readonly requireFreshness?: boolean;
  /** agent.json paths.initSocket. */
  readonly initSocket: string;
}

/** /etc/zeroroot as the installer would write it, owned by zr-agent, and the agent's state directory. */
export function writeAgentConfig(c: AgentConfigFiles): void {
  const dir = c.configDir;
  fs.mkdirSync(dir, { recursive: true });
  const write = (name: string, content: string, mode = 0o640) => {
    fs.writeFileSync(path.join(dir, name), content, { mode });
    fs.chownSync(path.join(dir, name), AGENT_UID, AGENT_UID);
  };
  write("computer.crt", c.computerId.certificateChainPem);
  write("computer.key", c.computerId.privateKeyPem, 0o600);
  write("root.crt", c.rootPem);
  write(
    "agent.json",
    JSON.stringify({
      serverId: COMPUTER,
      hostname: `s1.dc1.${ZONE}`,
      siteUrl: `https://site.dc1.${ZONE}:8443`,
      siteServerName: `site.dc1.${ZONE}`,
      controlPlane: {
        endpoints: c.endpoints,
        timeoutMs: 2000,
        requireFreshness: c.requireFreshness ?? false,
      },
      paths: {
        stateDir: c.agentStateDir,
        partitionsRoot: c.partitionsRoot,
        releasesDir: c.releasesDir,
        initSocket: c.initSocket,
      },
      partitions: c.partitions,
      intervals: { reportSeconds: 1, sampleSeconds: 1, resyncSeconds: 2, readySeconds: 3600, ...c.intervals },
      anomaly: c.anomaly ?? {},
    }),
  );
  write(
    "trust.json",
    JSON.stringify({
      kind: TRUST_KIND,
      signers: [
        { identity: "dc1/software/control-plane-dc1", desiredState: ["dc1"] },
        { identity: "dc1/software/release-admin", releases: ["*"] },
      ],
    }),
  );
  fs.chownSync(dir, 0, AGENT_UID);
  fs.chmodSync(dir, 0o750);
  fs.mkdirSync(c.agentStateDir, { recursive: true, mode: 0o700 });
  fs.chownSync(c.agentStateDir, AGENT_UID, AGENT_UID);
}

/** Starts the bundled agent as uid 2000 with the partitions' groups, in the computer's namespaces. */
export function spawnAgent(o: {
  nodePid1: number;
  partitions: number;
  bundle: string;
  configDir: string;
  logFile: string;
  nodeFlags?: readonly string[];
}): ChildProcess {
  const groups = Array.from({ length: o.partitions }, (_, i) => partitionUid(i)).join(",");
  const log = fs.openSync(o.logFile, "a");
  const [command, ...args] = [
    ...enterNode(o.nodePid1),
    ...["setpriv", `--reuid=${AGENT_UID}`, `--regid=${AGENT_UID}`, `--groups=${groups}`, "--no-new-privs"],
    ...["--inh-caps=-all", "--bounding-set=-all", "--"],
    ...[process.execPath, ...(o.nodeFlags ?? []), o.bundle, "--config-dir", o.configDir],
  ];
  const child = spawn(command, args, {
    stdio: ["ignore", log, log],
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", ...AGENT_ENVIRONMENT },
  });
  fs.closeSync(log);
  return child;
}

/** SIGTERM, then SIGKILL after 5 s, to what `nsenter` started (nsenter passes on no signal). */
export async function stopProcess(a: ChildProcess | undefined): Promise<void> {
  if (!a || a.exitCode !== null) return;
  const done = new Promise((r) => a.once("exit", r));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(enteredPid(a) ?? (a.pid as number), sig);
    } catch {
      // gone meanwhile
    }
  };
  signal("SIGTERM");
  await Promise.race([done, sleep(5000)]);
  if (a.exitCode === null) signal("SIGKILL");
}
