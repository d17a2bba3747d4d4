/**
 * One ipmitool session: endpoint validation (only IPMI v2.0 lanplus with cipher suite 3 or 17) and a
 * single run of one command, its failure mapped to a typed BmcError. Retries live in the client.
 */
import { bmcError, redact, type BmcErrorTarget } from "./errors";
import { PASSWORD_ENV, classifyFailure, failureDetail, sessionArgs } from "./ipmitool";
import type { RetryPolicy } from "./retry";
import { spawnRunner } from "./runner";
import {
  ALLOWED_CIPHER_SUITES,
  type BmcEndpoint,
  type CipherSuite,
  type CommandRunner,
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

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** How one ipmitool run is made, every default resolved. */
export type RunOptions = Required<
  Pick<IpmitoolClientOptions, "runner" | "ipmitool" | "commandTimeoutMs" | "path">
>;

export function resolveRunOptions(options: Omit<IpmitoolClientOptions, "retry" | "wait">): RunOptions {
  return {
    runner: options.runner ?? spawnRunner(),
    ipmitool: options.ipmitool ?? "ipmitool",
    commandTimeoutMs: options.commandTimeoutMs ?? 15000,
    path: options.path ?? process.env.PATH ?? DEFAULT_PATH,
  };
}

export interface ResolvedEndpoint extends BmcErrorTarget {
  readonly username: string;
  readonly cipherSuite: number;
}

/** Validates an endpoint; `allowSuiteZero` exists only for the cipher-0 probe below. */
export function resolveEndpoint(e: BmcEndpoint, allowSuiteZero = false): ResolvedEndpoint {
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

/**
 * Chassis control answers only once the BMC's power action has been carried out (OpenIPMI calls its
 * power hook synchronously; real BMCs may take seconds too), so a 1 s packet timeout gives up on a
 * command that is succeeding and the caller then sees "Request Match NOT FOUND".
 */
const CONTROL_PACKET_TIMEOUT_SEC = 8;

function answersSlowly(command: readonly string[]): boolean {
  return (
    command[0] === "chassis" &&
    (command[1] === "power" || command[1] === "bootdev") &&
    command[2] !== "status"
  );
}

/** Runs one ipmitool command and maps failure to a typed BmcError. Not retried here. */
export async function runOnce(
  ep: ResolvedEndpoint,
  password: string,
  command: readonly string[],
  operation: string,
  o: RunOptions,
): Promise<string> {
  const args = sessionArgs(
    {
      address: ep.address,
      port: ep.port,
      username: ep.username,
      cipherSuite: ep.cipherSuite,
      packetTimeoutSec: answersSlowly(command) ? CONTROL_PACKET_TIMEOUT_SEC : 1,
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
