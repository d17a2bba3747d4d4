import { randomBytes } from "node:crypto";
import { BmcError, bmcError, redact, type BmcErrorTarget } from "./errors";
import {
  COMMANDS,
  PASSWORD_ENV,
  classifyFailure,
  failureDetail,
  parseBootParam,
  parsePowerControl,
  parsePowerStatus,
  parseSetBootDevice,
  sessionArgs,
} from "./ipmitool";
import { DEFAULT_RETRY, sleep, withRetry, type RetryPolicy } from "./retry";
import { spawnRunner } from "./runner";
import {
  ALLOWED_CIPHER_SUITES,
  type BmcClient,
  type BmcEndpoint,
  type BootDevice,
  type BootDeviceState,
  type CipherSuite,
  type CommandRunner,
  type PowerState,
  type WaitOptions,
} from "./types";

export interface IpmitoolClientOptions {
  /** How ipmitool is run. @default spawnRunner() - directly, on this machine */
  readonly runner?: CommandRunner;
  /** @default "ipmitool" (found on PATH) */
  readonly ipmitool?: string;
  /** Deadline of one ipmitool run, after which it is killed and counts as a timeout. @default 15000 */
  readonly commandTimeoutMs?: number;
  /** Retries of transient failures (dropped sessions, no answer). @default DEFAULT_RETRY */
  readonly retry?: Partial<RetryPolicy>;
  /** Bounds of the re-read after setPower / cycle. @default { timeoutMs: 60000, intervalMs: 1000 } */
  readonly wait?: WaitOptions;
  /** PATH given to ipmitool (its environment is otherwise empty). @default process.env.PATH */
  readonly path?: string;
}

const DEFAULT_WAIT = { timeoutMs: 60000, intervalMs: 1000 };
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

interface ResolvedEndpoint extends BmcErrorTarget {
  readonly username: string;
  readonly cipherSuite: number;
}

/** Validates an endpoint; `allowSuiteZero` exists only for the cipher-0 probe below. */
function resolveEndpoint(e: BmcEndpoint, allowSuiteZero = false): ResolvedEndpoint {
  const target: BmcErrorTarget = {
    serverId: String(e.serverId || "(no server id)"),
    address: String(e.address || "(no address)"),
    port: e.port ?? 623,
  };
  const fail = (what: string): never => {
    throw bmcError("config", target, what);
  };
  if (!e.serverId) fail("serverId is empty; give the inventory id of the server");
  if (!e.address || /\s/.test(e.address) || e.address.startsWith("-"))
    fail(`address ${JSON.stringify(e.address)} is not an IP address or host name`);
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535)
    fail(`port ${String(e.port)} is not an integer in 1..65535`);
  if (!e.username || e.username.startsWith("-"))
    fail(`username ${JSON.stringify(e.username)} is empty or starts with "-"`);
  if (!allowSuiteZero && (typeof e.password !== "string" || e.password.length === 0))
    fail("password is empty; give the BMC password as a secret");
  if (!allowSuiteZero && Buffer.byteLength(e.password, "utf8") > 20)
    fail("password is longer than 20 bytes, the IPMI v2.0 limit (value not shown)");
  const suite = e.cipherSuite ?? 3;
  if (!allowSuiteZero && !ALLOWED_CIPHER_SUITES.includes(suite as CipherSuite))
    fail(
      `cipherSuite ${String(suite)} is not allowed; allowed: ${ALLOWED_CIPHER_SUITES.join(", ")} ` +
        "(suite 0 means no authentication, 1-2 lack encryption)",
    );
  return { ...target, username: e.username, cipherSuite: suite };
}

/** Runs one ipmitool command and maps failure to a typed BmcError. Not retried here. */
async function runOnce(
  ep: ResolvedEndpoint,
  password: string,
  command: readonly string[],
  operation: string,
  o: Required<Pick<IpmitoolClientOptions, "runner" | "ipmitool" | "commandTimeoutMs" | "path">>,
): Promise<string> {
  const args = sessionArgs(
    {
      address: ep.address,
      port: ep.port,
      username: ep.username,
      cipherSuite: ep.cipherSuite,
      packetTimeoutSec: 1,
      packetRetries: 2,
    },
    command,
  );
  let res;
  try {
    res = await o.runner(o.ipmitool, args, {
      env: { PATH: o.path, LANG: "C", LC_ALL: "C", [PASSWORD_ENV]: password },
      timeoutMs: o.commandTimeoutMs,
    });
  } catch (e) {
    throw bmcError(
      "config",
      ep,
      `cannot run ${o.ipmitool}: ${redact((e as Error).message, password)} (install ipmitool)`,
      operation,
    );
  }
  if (res.timedOut) throw bmcError("timeout", ep, `no answer within ${o.commandTimeoutMs} ms`, operation);
  if (res.code !== 0) {
    const out = `${res.stderr}\n${res.stdout}`;
    throw bmcError(classifyFailure(out), ep, redact(failureDetail(out), password), operation);
  }
  return res.stdout;
}

/** A BmcClient over ipmitool, IPMI v2.0 lanplus, cipher suite 3 or 17 only. */
export class IpmitoolBmcClient implements BmcClient {
  public readonly endpoint: Omit<BmcEndpoint, "password">;
  private readonly ep: ResolvedEndpoint;
  private readonly password: string;
  private readonly opts: Required<
    Pick<IpmitoolClientOptions, "runner" | "ipmitool" | "commandTimeoutMs" | "path">
  >;
  private readonly retry: RetryPolicy;
  private readonly wait: Required<WaitOptions>;

  public constructor(endpoint: BmcEndpoint, options: IpmitoolClientOptions = {}) {
    this.ep = resolveEndpoint(endpoint);
    this.password = endpoint.password;
    this.endpoint = {
      serverId: this.ep.serverId,
      address: this.ep.address,
      port: this.ep.port,
      username: this.ep.username,
      cipherSuite: this.ep.cipherSuite as CipherSuite,
    };
    this.opts = {
      runner: options.runner ?? spawnRunner(),
      ipmitool: options.ipmitool ?? "ipmitool",
      commandTimeoutMs: options.commandTimeoutMs ?? 15000,
      path: options.path ?? process.env.PATH ?? DEFAULT_PATH,
    };
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.wait = { ...DEFAULT_WAIT, ...options.wait };
    // Set here rather than as a computed method: Pulumi's closure serialiser (dynamic providers
    // capture this class) cannot parse computed member names.
    const label = `IpmitoolBmcClient(${this.ep.serverId} ${this.ep.address}:${this.ep.port})`;
    Object.defineProperty(this, Symbol.for("nodejs.util.inspect.custom"), {
      value: () => label,
      enumerable: false,
    });
  }

  /** Keeps the password out of console.log / JSON.stringify / util.inspect of the client. */
  public toJSON(): object {
    return { endpoint: this.endpoint };
  }

  private run(command: readonly string[], operation: string): Promise<string> {
    return withRetry(
      () => runOnce(this.ep, this.password, command, operation, this.opts),
      (e) => e instanceof BmcError && e.transient,
      this.retry,
    );
  }

  private unexpected(operation: string, stdout: string): BmcError {
    return bmcError(
      "command",
      this.ep,
      `unexpected output: ${JSON.stringify(redact(stdout.trim().slice(0, 200), this.password))}`,
      operation,
    );
  }

  public async getPower(): Promise<PowerState> {
    const op = "chassis power status";
    const out = await this.run(COMMANDS.powerStatus, op);
    const state = parsePowerStatus(out);
    if (!state) throw this.unexpected(op, out);
    return state;
  }

  public async setPower(state: PowerState): Promise<void> {
    const op = `chassis power ${state}`;
    const out = await this.run(COMMANDS.power(state), op);
    if (!parsePowerControl(out)) throw this.unexpected(op, out);
    await this.waitForPower(state);
  }

  public async cycle(): Promise<void> {
    // A cycle of a powered-off chassis is refused by many BMCs: power it on instead.
    if ((await this.getPower()) === "off") return this.setPower("on");
    const op = "chassis power cycle";
    const out = await this.run(COMMANDS.cycle, op);
    if (!parsePowerControl(out)) throw this.unexpected(op, out);
    await this.waitForPower("on");
  }

  public async getBootDevice(): Promise<BootDeviceState> {
    const op = "chassis bootparam get 5";
    const out = await this.run(COMMANDS.getBoot, op);
    const state = parseBootParam(out);
    if (!state) throw this.unexpected(op, out);
    return state;
  }

  public async setBootDevice(device: BootDevice, opts: { readonly persistent: boolean }): Promise<void> {
    const op = `chassis bootdev ${device}${opts.persistent ? " options=persistent" : ""}`;
    let reported: BootDeviceState | undefined;
    // One more set if the read-back disagrees: some BMCs accept the first set and silently drop it.
    for (let attempt = 0; attempt < 2; attempt++) {
      const out = await this.run(COMMANDS.setBoot(device, opts.persistent), op);
      if (!parseSetBootDevice(out)) throw this.unexpected(op, out);
      reported = await this.getBootDevice();
      if (reported.device === device) return;
    }
    throw bmcError(
      "state",
      this.ep,
      `asked for boot device ${device}, the BMC reports ${reported?.device ?? "nothing"}`,
      op,
    );
  }

  public async waitForPower(state: PowerState, opts: WaitOptions = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? this.wait.timeoutMs;
    const intervalMs = opts.intervalMs ?? this.wait.intervalMs;
    const deadline = Date.now() + timeoutMs;
    let last = "no reading";
    for (;;) {
      try {
        const now = await this.getPower();
        if (now === state) return;
        last = `power is ${now}`;
      } catch (e) {
        if (!(e instanceof BmcError) || !e.transient) throw e;
        last = e.detail || e.reason;
      }
      if (Date.now() + intervalMs > deadline)
        throw bmcError(
          "state",
          this.ep,
          `power not ${state} after ${timeoutMs} ms (last: ${last})`,
          `wait for power ${state}`,
        );
      await sleep(intervalMs);
    }
  }
}

export interface CipherZeroProbe {
  /** The BMC opened a session with cipher suite 0 and a password that is certainly wrong. */
  readonly acceptsCipherZero: boolean;
  /** What the BMC answered (never contains a password: none was known). */
  readonly detail: string;
}

/**
 * Tries cipher suite 0 (no authentication) with a random, certainly wrong password and a read-only
 * command. A BMC that answers lets anyone who knows a user name control the server: a finding.
 * Throws BmcError for "cannot tell" outcomes (unreachable, timeout).
 */
export async function probeCipherZero(
  endpoint: Omit<BmcEndpoint, "password" | "cipherSuite">,
  options: Omit<IpmitoolClientOptions, "retry" | "wait"> = {},
): Promise<CipherZeroProbe> {
  const ep = {
    ...resolveEndpoint({ ...endpoint, password: "", cipherSuite: 0 as CipherSuite }, true),
    cipherSuite: 0,
  };
  // IPMI v2.0 passwords are at most 20 bytes: 3 + 16 characters.
  const wrong = `zr-${randomBytes(8).toString("hex")}`;
  const o = {
    runner: options.runner ?? spawnRunner(),
    ipmitool: options.ipmitool ?? "ipmitool",
    commandTimeoutMs: options.commandTimeoutMs ?? 15000,
    path: options.path ?? process.env.PATH ?? DEFAULT_PATH,
  };
  try {
    const out = await runOnce(ep, wrong, COMMANDS.powerStatus, "cipher suite 0 probe", o);
    return { acceptsCipherZero: parsePowerStatus(out) !== undefined, detail: out.trim().slice(0, 200) };
  } catch (e) {
    if (
      e instanceof BmcError &&
      (e.reason === "auth" ||
        e.reason === "unsupported-cipher" ||
        e.reason === "session" ||
        e.reason === "command")
    )
      return { acceptsCipherZero: false, detail: e.detail };
    throw e;
  }
}

/** `probeCipherZero(...).acceptsCipherZero`, for rules that only need the yes/no. */
export async function acceptsCipherZero(
  endpoint: Omit<BmcEndpoint, "password" | "cipherSuite">,
  options: Omit<IpmitoolClientOptions, "retry" | "wait"> = {},
): Promise<boolean> {
  return (await probeCipherZero(endpoint, options)).acceptsCipherZero;
}
