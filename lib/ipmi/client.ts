/**
 * The BmcClient over ipmitool: power, boot device and the waits after them, with retries of transient
 * failures. Sessions (validation, one run) are in session.ts, the cipher-suite-0 probe in probe.ts.
 */
import { BmcError, bmcError, redact } from "./errors";
import {
  COMMANDS,
  parseBootParam,
  parsePowerControl,
  parsePowerStatus,
  parseSetBootDevice,
} from "./ipmitool";
import { DEFAULT_RETRY, sleep, withRetry, type RetryPolicy } from "./retry";
import {
  resolveEndpoint,
  resolveRunOptions,
  runOnce,
  type IpmitoolClientOptions,
  type ResolvedEndpoint,
  type RunOptions,
} from "./session";
import type {
  BmcClient,
  BmcEndpoint,
  BootDevice,
  BootDeviceState,
  CipherSuite,
  PowerState,
  WaitOptions,
} from "./types";

export type { IpmitoolClientOptions } from "./session";
export { acceptsCipherZero, probeCipherZero, type CipherZeroProbe } from "./probe";

const DEFAULT_WAIT = { timeoutMs: 60000, intervalMs: 1000 };

/** A BmcClient over ipmitool, IPMI v2.0 lanplus, cipher suite 3 or 17 only. */
export class IpmitoolBmcClient implements BmcClient {
  public readonly endpoint: Omit<BmcEndpoint, "password">;
  private readonly ep: ResolvedEndpoint;
  private readonly password: string;
  private readonly opts: RunOptions;
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
    this.opts = resolveRunOptions(options);
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
