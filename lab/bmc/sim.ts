/**
 * Starts and stops one ipmi_sim per lab server, each in its own state directory and (optionally)
 * inside the network namespace of its data center's management network.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { BootDevice, PowerState } from "../../lib/ipmi";
import {
  renderEmuCmd,
  renderHookConf,
  renderLanConf,
  resolveBmcSimSpec,
  simPaths,
  type BmcSimSpec,
} from "./config";

export interface BmcSimHandle {
  readonly serverId: string;
  readonly pid: number;
  readonly stateDir: string;
  /** Same as stopBmcSim(stateDir). */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Variables the hook's boot and halt commands read from the caller (lab/server's `--lab-dir`
 * default). Nothing else of the caller's environment reaches the simulator: `lab up` runs as root,
 * and its environment may hold tokens, cloud credentials or a Pulumi passphrase.
 */
export const BMC_SIM_PASSED_ENV: readonly string[] = ["ZEROROOT_LAB_DIR"];

/**
 * The whole environment of an ipmi_sim and of everything its hook runs: PATH (system directories,
 * after the directory of the running node, which the hook's `tsx` finds through `#!/usr/bin/env
 * node`), LANG=C, and BMC_SIM_PASSED_ENV when set.
 */
export function bmcSimEnv(
  parent: NodeJS.ProcessEnv = process.env,
  nodeDir = path.dirname(process.execPath),
): Record<string, string> {
  const system = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  const env: Record<string, string> = {
    PATH: [...new Set([nodeDir, ...system])].join(":"),
    LANG: "C",
  };
  for (const k of BMC_SIM_PASSED_ENV) {
    const v = parent[k];
    if (v !== undefined && v !== "") env[k] = v;
  }
  return env;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid in stateDir's pid file, if that process is alive and is the ipmi_sim of this state dir. */
export function runningSimPid(stateDir: string): number | undefined {
  const pid = Number(readText(simPaths(stateDir).pidFile));
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return undefined;
  const cmdline = (readText(`/proc/${pid}/cmdline`) ?? "").split("\0");
  return cmdline.some((a) => a.endsWith("ipmi_sim")) && cmdline.includes(simPaths(stateDir).lanConf)
    ? pid
    : undefined;
}

/** Hex form of address:port as in /proc/net/udp ("0100007F:0277"). */
export function procNetUdpKey(address: string, port: number): string {
  const hex = address
    .split(".")
    .map((o) => Number(o).toString(16).padStart(2, "0"))
    .reverse()
    .join("");
  return `${hex}:${port.toString(16).padStart(4, "0")}`.toUpperCase();
}

function listensUdp(pid: number, address: string, port: number): boolean {
  const table = readText(`/proc/${pid}/net/udp`) ?? "";
  const key = procNetUdpKey(address, port);
  return table.split("\n").some((l) => l.trim().split(/\s+/)[1] === key);
}

/**
 * Writes the instance's files and starts ipmi_sim; resolves once it listens on address:port.
 * Idempotent: an instance already running from the same state dir is left alone (its pid returned).
 * Hook state (power, boot device) survives restarts; it is initialised only when absent.
 */
export async function startBmcSim(
  spec: BmcSimSpec,
  opts: { readonly readyTimeoutMs?: number } = {},
): Promise<BmcSimHandle> {
  const s = resolveBmcSimSpec(spec);
  const p = simPaths(s.stateDir);
  const handle = (pid: number): BmcSimHandle => ({
    serverId: s.serverId,
    pid,
    stateDir: s.stateDir,
    stop: () => stopBmcSim(s.stateDir),
  });
  const existing = runningSimPid(s.stateDir);
  if (existing !== undefined) return handle(existing);

  fs.mkdirSync(s.stateDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(s.stateDir, 0o700);
  fs.mkdirSync(p.simState, { recursive: true, mode: 0o700 });
  fs.mkdirSync(p.hookDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(p.lanConf, renderLanConf(s), { mode: 0o600 });
  fs.writeFileSync(p.emuCmd, renderEmuCmd(), { mode: 0o600 });
  fs.writeFileSync(p.hookConf, renderHookConf(s), { mode: 0o600 });
  const init = (name: string, value: string): void => {
    const f = path.join(p.hookDir, name);
    if (!fs.existsSync(f)) fs.writeFileSync(f, `${value}\n`);
  };
  init("power", s.initialPower === "on" ? "1" : "0");
  init("boot.persistent", s.initialBootDevice);

  const argv = ["ipmi_sim", "-c", p.lanConf, "-f", p.emuCmd, "-s", p.simState, "-n"];
  const full = s.netns ? ["ip", "netns", "exec", s.netns, ...argv] : argv;
  const log = fs.openSync(p.log, "a", 0o600);
  // detached: ipmi_sim leads its own process group, so stop can kill it with every hook it runs.
  const child = spawn(full[0], full.slice(1), {
    detached: true,
    stdio: ["ignore", log, log],
    env: bmcSimEnv(),
  });
  fs.closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`BMC simulator of server ${s.serverId}: could not start ${full[0]}`);
  child.unref();
  fs.writeFileSync(p.pidFile, `${pid}\n`);

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 5000);
  while (!listensUdp(pid, s.address, s.port)) {
    if (!alive(pid) || Date.now() > deadline) {
      await stopBmcSim(s.stateDir);
      const tail = (readText(p.log) ?? "").split("\n").slice(-5).join(" | ");
      throw new Error(
        `BMC simulator of server ${s.serverId}: ipmi_sim is not listening on ${s.address}:${s.port}` +
          `${s.netns ? ` in netns ${s.netns}` : ""} (log ${p.log}: ${tail || "empty"}); ` +
          "check the address exists in that namespace and the port is free",
      );
    }
    await sleep(20);
  }
  return handle(pid);
}

async function killGroup(pgid: number, graceMs: number): Promise<void> {
  const groupAlive = (): boolean => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!groupAlive()) return;
  try {
    process.kill(-pgid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive() && Date.now() < deadline) await sleep(25);
  if (groupAlive()) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Stops the instance of stateDir: ipmi_sim's whole process group (hooks it runs) and the process
 * group of the last boot command (which the hook started in its own session), since killing
 * ipmi_sim alone leaves its children running. Safe to call when nothing runs.
 */
export async function stopBmcSim(stateDir: string, opts: { readonly graceMs?: number } = {}): Promise<void> {
  const p = simPaths(stateDir);
  const grace = opts.graceMs ?? 2000;
  const pid = runningSimPid(stateDir);
  if (pid !== undefined) await killGroup(pid, grace);
  const bootPid = Number(readText(path.join(p.hookDir, "boot.pid")));
  if (Number.isInteger(bootPid) && bootPid > 1) await killGroup(bootPid, grace);
  fs.rmSync(path.join(p.hookDir, "boot.pid"), { force: true });
  fs.rmSync(p.pidFile, { force: true });
}

/**
 * The lab's factory reset of a stopped BMC's accounts: ipmi_sim keeps the users it was given over
 * IPMI (managed users, the initial user disabled) in its state directory, one `users.mc<addr>` file
 * per management controller; without them it starts again from the initial user of its lan.conf.
 * Used when the lab forgets the credentials it set (see lab/orchestrate/down.ts).
 */
export function resetBmcSimUsers(stateDir: string): number {
  const root = path.join(simPaths(stateDir).simState, "ipmi_sim");
  if (!fs.existsSync(root)) return 0;
  let removed = 0;
  for (const sim of fs.readdirSync(root))
    for (const f of fs.readdirSync(path.join(root, sim)).filter((n) => /^users\.mc[0-9a-f]+$/.test(n))) {
      fs.rmSync(path.join(root, sim, f), { force: true });
      removed++;
    }
  return removed;
}

export interface BmcSimStatus {
  readonly running: boolean;
  readonly pid: number | undefined;
  readonly power: PowerState;
  /** Device of the next boot (a pending one-time override, else the persistent device). */
  readonly nextBootDevice: string;
  readonly persistentBootDevice: string;
  /** Device the server was last booted from, if it ever was. */
  readonly lastBootDevice: string | undefined;
}

/** Reads an instance's state from its files (no IPMI): for `lab status` and tests. */
export function bmcSimStatus(stateDir: string): BmcSimStatus {
  const h = simPaths(stateDir).hookDir;
  const pid = runningSimPid(stateDir);
  const persistent = readText(path.join(h, "boot.persistent")) || "disk";
  return {
    running: pid !== undefined,
    pid,
    power: readText(path.join(h, "power")) === "1" ? "on" : "off",
    persistentBootDevice: persistent,
    nextBootDevice: readText(path.join(h, "boot.next")) || persistent,
    lastBootDevice: readText(path.join(h, "last-boot")) || undefined,
  };
}

/** The hook's event log lines ("<time> boot pxe", "<time> halt", ...). */
export function bmcSimEvents(stateDir: string): string[] {
  return (readText(path.join(simPaths(stateDir).hookDir, "events.log")) ?? "").split("\n").filter(Boolean);
}

/**
 * Sets the simulated boot device directly, bypassing IPMI. ipmi_sim drops IPMI's "persistent" flag,
 * so this is the lab's only way to make PXE persistent or disk one-time.
 */
export function setSimBootDevice(
  stateDir: string,
  device: BootDevice,
  opts: { readonly persistent: boolean },
): void {
  const h = simPaths(stateDir).hookDir;
  fs.mkdirSync(h, { recursive: true, mode: 0o700 });
  if (opts.persistent) {
    fs.writeFileSync(path.join(h, "boot.persistent"), `${device}\n`);
    fs.rmSync(path.join(h, "boot.next"), { force: true });
  } else {
    fs.writeFileSync(path.join(h, "boot.next"), `${device}\n`);
  }
}
