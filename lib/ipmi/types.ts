import { CIPHER_SUITES, type CipherSuite } from "../contracts/resources";

export type { CipherSuite };

/** Cipher suites a zeroroot client may offer (defined once, in lib/contracts). */
export const ALLOWED_CIPHER_SUITES: readonly CipherSuite[] = CIPHER_SUITES;

export type PowerState = "on" | "off";

/** Boot devices zeroroot sets. */
export type BootDevice = "pxe" | "disk";

/** Boot devices a BMC may report (it may have been set by someone else). */
export type ReportedBootDevice = BootDevice | "none" | "cdrom" | "bios" | "other";

/** Where one server's BMC is and how to log in to it. */
export interface BmcEndpoint {
  /** The server this BMC belongs to; named in every error. */
  readonly serverId: string;
  /** IPv4 address or host name of the BMC's LAN interface. */
  readonly address: string;
  /** UDP port. @default 623 */
  readonly port?: number;
  readonly username: string;
  /** Never logged, never put on a command line. */
  readonly password: string;
  /** @default 3 */
  readonly cipherSuite?: CipherSuite;
}

export interface BootDeviceState {
  readonly device: ReportedBootDevice;
  /** The BMC says the setting applies to all future boots (false: next boot only). */
  readonly persistent: boolean;
  /** The BMC says the boot flags are valid (some BMCs, and ipmi_sim, always report false). */
  readonly valid: boolean;
}

export interface WaitOptions {
  /** Give up after this long. @default 60000 */
  readonly timeoutMs?: number;
  /** Time between two reads of the power state. @default 1000 */
  readonly intervalMs?: number;
}

/** What zeroroot needs from a server's BMC. Implementations retry dropped sessions themselves. */
export interface BmcClient {
  readonly endpoint: Omit<BmcEndpoint, "password">;
  getPower(): Promise<PowerState>;
  /** Asks for the state, then re-reads until the BMC reports it (bounded by the default wait). */
  setPower(state: PowerState): Promise<void>;
  /** Power cycle (power on when off); returns once the BMC reports power on. */
  cycle(): Promise<void>;
  getBootDevice(): Promise<BootDeviceState>;
  /** Sets the boot device, then reads it back and fails if the BMC reports another device. */
  setBootDevice(device: BootDevice, opts: { readonly persistent: boolean }): Promise<void>;
  /** Polls the power state until it is `state`; throws BmcStateError after `timeoutMs`. */
  waitForPower(state: PowerState, opts?: WaitOptions): Promise<void>;
}

/** Result of running one external command. */
export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/**
 * Runs one program with arguments and environment; the seam that lets the lab run ipmitool inside a
 * network namespace and unit tests replay recorded output.
 */
export type CommandRunner = (
  file: string,
  args: readonly string[],
  opts: { readonly env: Readonly<Record<string, string>>; readonly timeoutMs: number },
) => Promise<CommandResult>;
