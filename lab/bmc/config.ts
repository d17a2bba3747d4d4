/**
 * Pure rendering of one simulated BMC's files: ipmi_sim's lan.conf and emu.cmd, and the hook's
 * configuration. Validation happens here so a bad spec fails before anything is started.
 */
import * as path from "node:path";
import type { BootDevice, PowerState } from "../../lib/ipmi";

/** One server's simulated BMC. */
export interface BmcSimSpec {
  /** Inventory id of the server; also names the ipmi_sim instance. */
  readonly serverId: string;
  /** Network namespace ipmi_sim runs in (the data center's BMC / management network). @default undefined - the current one */
  readonly netns?: string;
  /** Address the BMC listens on (must exist in `netns`). */
  readonly address: string;
  /** @default 623 */
  readonly port?: number;
  /** TCP port of ipmi_sim's VM serial interface, on `address` (needed for power commands). @default 9002 */
  readonly serialPort?: number;
  /** IPMI user (admin privilege); 1-16 printable characters, no quote, backslash or space. */
  readonly username: string;
  /** 1-20 printable characters, no quote, backslash or space. Written only to lan.conf (mode 0600). */
  readonly password: string;
  /** Absolute directory owned by this instance (created, mode 0700). No spaces or quotes. */
  readonly stateDir: string;
  /** Run on power on / cycle / reset with the boot device ("pxe" | "disk") appended as last argument. */
  readonly bootCommand: readonly string[];
  /** Run (and waited for, briefly) on power off / before a reset; a hard power-off, so it should be quick. @default none */
  readonly haltCommand?: readonly string[];
  /** @default "off" */
  readonly initialPower?: PowerState;
  /** Persistent boot device at first start. @default "disk" */
  readonly initialBootDevice?: BootDevice;
}

export interface ResolvedBmcSimSpec extends Required<Omit<BmcSimSpec, "netns" | "haltCommand">> {
  readonly netns: string | undefined;
  readonly haltCommand: readonly string[];
}

const SAFE_TOKEN = /^[\x21-\x7e]+$/;

export function resolveBmcSimSpec(s: BmcSimSpec): ResolvedBmcSimSpec {
  const where = `BMC simulator of server ${JSON.stringify(s.serverId)}`;
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(s.serverId ?? ""))
    fail("serverId must be 1-63 of [A-Za-z0-9._-]");
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(s.address ?? ""))
    fail(`address ${JSON.stringify(s.address)} is not an IPv4 address`);
  const port = s.port ?? 623;
  const serialPort = s.serialPort ?? 9002;
  for (const [k, v] of [
    ["port", port],
    ["serialPort", serialPort],
  ] as const)
    if (!Number.isInteger(v) || v < 1 || v > 65535) fail(`${k} ${v} is not in 1..65535`);
  const tokenOk = (v: string, max: number): boolean =>
    SAFE_TOKEN.test(v) && v.length <= max && !/["\\]/.test(v);
  if (!tokenOk(s.username ?? "", 16))
    fail("username must be 1-16 printable characters without quote or backslash");
  if (!tokenOk(s.password ?? "", 20))
    fail("password must be 1-20 printable characters without quote or backslash (value not shown)");
  if (!path.isAbsolute(s.stateDir ?? "") || /[\s"'\\$`]/.test(s.stateDir))
    fail(`stateDir ${JSON.stringify(s.stateDir)} must be absolute, without spaces or quotes`);
  if (!s.bootCommand || s.bootCommand.length === 0)
    fail("bootCommand is empty; give the argv that boots the server");
  if (s.netns !== undefined && !/^[A-Za-z0-9._-]+$/.test(s.netns))
    fail(`netns ${JSON.stringify(s.netns)} is not a namespace name`);
  return {
    serverId: s.serverId,
    netns: s.netns,
    address: s.address,
    port,
    serialPort,
    username: s.username,
    password: s.password,
    stateDir: s.stateDir,
    bootCommand: [...s.bootCommand],
    haltCommand: [...(s.haltCommand ?? [])],
    initialPower: s.initialPower ?? "off",
    initialBootDevice: s.initialBootDevice ?? "disk",
  };
}

/** Files of one instance inside its state directory. */
export function simPaths(stateDir: string) {
  return {
    lanConf: path.join(stateDir, "lan.conf"),
    emuCmd: path.join(stateDir, "emu.cmd"),
    simState: path.join(stateDir, "sim"),
    hookDir: path.join(stateDir, "hook"),
    hookConf: path.join(stateDir, "hook.conf"),
    pidFile: path.join(stateDir, "ipmi_sim.pid"),
    log: path.join(stateDir, "ipmi_sim.log"),
  };
}

/** The hook program ipmi_sim's chassis_control runs (a POSIX shell script next to this file). */
export const HOOK_SCRIPT = path.join(__dirname, "hook.sh");

/**
 * lan.conf: one LAN channel on address:port, one admin user (no anonymous user 1), the VM serial
 * interface power commands need, and the chassis_control hook for power and boot device.
 */
export function renderLanConf(s: ResolvedBmcSimSpec, hookScript = HOOK_SCRIPT): string {
  return [
    `# zeroroot lab BMC of server ${s.serverId}; generated, do not edit`,
    `name "zr-${s.serverId}"`,
    "set_working_mc 0x20",
    "  startlan 1",
    `    addr ${s.address} ${s.port}`,
    "    priv_limit admin",
    "    allowed_auths_callback md5",
    "    allowed_auths_user md5",
    "    allowed_auths_operator md5",
    "    allowed_auths_admin md5",
    "    guid a123456789abcdefa123456789abcdef",
    "  endlan",
    `  serial 15 ${s.address} ${s.serialPort} codec VM`,
    `  chassis_control "/bin/sh ${hookScript} ${s.stateDir} 0x20"`,
    `  user 2 true "${s.username}" "${s.password}" admin 10 md5`,
    "",
  ].join("\n");
}

/** emu.cmd: without `mc_enable 0x20` ipmi_sim silently opens no socket (LAB-NOTES). */
export function renderEmuCmd(): string {
  return [
    "mc_setbmc 0x20",
    "mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr",
    "mc_enable 0x20",
    "",
  ].join("\n");
}

const shQuote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;

/** hook.conf, sourced by hook.sh: the boot and halt commands as shell functions, quoted once. */
export function renderHookConf(s: ResolvedBmcSimSpec): string {
  const fn = (name: string, argv: readonly string[]): string =>
    argv.length === 0 ? `${name}() { :; }` : `${name}() { ${argv.map(shQuote).join(" ")} "$@"; }`;
  return [
    `# generated for server ${s.serverId}`,
    fn("boot_cmd", s.bootCommand),
    fn("halt_cmd", s.haltCommand),
    "",
  ].join("\n");
}
