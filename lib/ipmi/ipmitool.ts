/**
 * Pure functions around the `ipmitool` command line: building arguments (never with the password),
 * parsing its output, and classifying its failures. No I/O here, so all of it is unit-tested.
 */
import type { BmcFailureReason } from "./errors";
import type { BootDevice, BootDeviceState, PowerState, ReportedBootDevice } from "./types";

/** Environment variable ipmitool's `-E` reads the password from. */
export const PASSWORD_ENV = "IPMI_PASSWORD";

export interface SessionArgs {
  readonly address: string;
  readonly port: number;
  readonly username: string;
  readonly cipherSuite: number;
  /** ipmitool's own per-packet timeout, seconds (`-N`). */
  readonly packetTimeoutSec: number;
  /** ipmitool's own retransmissions (`-R`). */
  readonly packetRetries: number;
}

/**
 * Arguments for one ipmitool call over IPMI v2.0 (lanplus). `-E` makes ipmitool read the password
 * from IPMI_PASSWORD, so it is on no command line; `-v` makes ipmitool say *why* a session failed
 * (e.g. "RAKP 2 HMAC is invalid" for a wrong password), which plain output does not.
 */
export function sessionArgs(s: SessionArgs, command: readonly string[]): string[] {
  return [
    "-I",
    "lanplus",
    "-C",
    String(s.cipherSuite),
    "-H",
    s.address,
    "-p",
    String(s.port),
    "-U",
    s.username,
    "-E",
    "-v",
    "-N",
    String(s.packetTimeoutSec),
    "-R",
    String(s.packetRetries),
    ...command,
  ];
}

export const COMMANDS = {
  powerStatus: ["chassis", "power", "status"],
  power: (state: PowerState): string[] => ["chassis", "power", state],
  cycle: ["chassis", "power", "cycle"],
  getBoot: ["chassis", "bootparam", "get", "5"],
  setBoot: (device: BootDevice, persistent: boolean): string[] => [
    "chassis",
    "bootdev",
    device,
    ...(persistent ? ["options=persistent"] : []),
  ],
} as const;

export function parsePowerStatus(stdout: string): PowerState | undefined {
  const m = /Chassis Power is (on|off)\b/i.exec(stdout);
  return m ? (m[1].toLowerCase() as PowerState) : undefined;
}

export function parsePowerControl(stdout: string): boolean {
  return /Chassis Power Control:\s*\S+/i.test(stdout);
}

export function parseSetBootDevice(stdout: string): string | undefined {
  const m = /Set Boot Device to (\S+)/i.exec(stdout);
  return m ? m[1] : undefined;
}

/** IPMI boot-flags device selector (byte 2, bits 5:2) to the devices zeroroot names. */
function deviceFromSelector(selector: number): ReportedBootDevice {
  switch (selector) {
    case 0:
      return "none";
    case 1:
      return "pxe";
    case 2:
    case 3:
      return "disk";
    case 5:
      return "cdrom";
    case 6:
      return "bios";
    default:
      return "other";
  }
}

function deviceFromText(text: string): ReportedBootDevice | undefined {
  const m = /Boot Device Selector\s*:\s*(.+)/i.exec(text);
  if (!m) return undefined;
  const t = m[1].toLowerCase();
  if (t.includes("pxe")) return "pxe";
  if (t.includes("hard-drive") || t.includes("hard drive") || t.includes("disk")) return "disk";
  if (t.includes("no override")) return "none";
  if (t.includes("cd/dvd") || t.includes("cdrom")) return "cdrom";
  if (t.includes("bios setup")) return "bios";
  return "other";
}

/**
 * Parses `chassis bootparam get 5`. The hex "Boot parameter data" line is authoritative (the same
 * across ipmitool versions); the human-readable lines are a fallback for tools that omit it.
 */
export function parseBootParam(stdout: string): BootDeviceState | undefined {
  const hex = /Boot parameter data:\s*([0-9a-f]{4,})/i.exec(stdout);
  if (hex) {
    const b1 = parseInt(hex[1].slice(0, 2), 16);
    const b2 = parseInt(hex[1].slice(2, 4), 16);
    return {
      device: deviceFromSelector((b2 >> 2) & 0xf),
      persistent: (b1 & 0x40) !== 0,
      valid: (b1 & 0x80) !== 0,
    };
  }
  const device = deviceFromText(stdout);
  if (!device) return undefined;
  return {
    device,
    persistent: /apply to all future boots/i.test(stdout),
    valid: /Boot Flag Valid/i.test(stdout),
  };
}

const PATTERNS: readonly (readonly [BmcFailureReason, RegExp])[] = [
  ["config", /password is longer than \d+ bytes/i],
  ["auth", /RAKP \d HMAC is invalid/i],
  ["auth", /unauthorized name/i],
  ["auth", /invalid (user ?name|password|integrity check value)/i],
  ["auth", /password (is )?(incorrect|invalid)/i],
  ["unsupported-cipher", /invalid (authentication|integrity|confidentiality) algorithm/i],
  ["unsupported-cipher", /no (matching )?cipher suite/i],
  ["unsupported-cipher", /cipher suite .*(not supported|unavailable)/i],
  ["unreachable", /Address lookup for .* failed/i],
  ["unreachable", /Get Auth Capabilities error/i],
  ["unreachable", /Error issuing Get Channel Authentication Capabilities/i],
  ["unreachable", /No response from remote controller/i],
  ["unreachable", /(network is unreachable|no route to host|connection refused)/i],
  ["session", /insufficient resources for session/i],
  ["session", /Unable to establish IPMI v2 \/ RMCP\+ session/i],
  ["session", /(session|RAKP \d|open session).*(timed out|timeout|no response)/i],
  ["session", /Close Session command failed/i],
];

/** Classifies a failed ipmitool run from its output. Order matters: the most specific cause wins. */
export function classifyFailure(output: string): BmcFailureReason {
  for (const [reason, re] of PATTERNS) if (re.test(output)) return reason;
  return "command";
}

/** The most useful line of ipmitool's output for a message: the last error-looking line. */
export function failureDetail(output: string): string {
  const noise =
    /^(Loading IANA PEN Registry|Running Get VSO Capabilities|Discovered IPMB address|Password:)/i;
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.replace(/^>\s*/, "").trim())
    .filter((l) => l.length > 0 && !noise.test(l));
  const specific = lines.filter((l) => !/Unable to establish IPMI v2/i.test(l));
  const pick = specific.length > 0 ? specific[specific.length - 1] : lines[lines.length - 1];
  return (pick ?? "").slice(0, 300);
}
