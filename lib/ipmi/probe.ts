/**
 * The cipher-suite-0 probe: whether a BMC opens a session without authentication.
 */
import { randomBytes } from "node:crypto";
import { BmcError } from "./errors";
import { COMMANDS, parsePowerStatus } from "./ipmitool";
import { resolveEndpoint, resolveRunOptions, runOnce, type IpmitoolClientOptions } from "./session";
import type { BmcEndpoint, CipherSuite } from "./types";

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
  const o = resolveRunOptions(options);
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
