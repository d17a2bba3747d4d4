/** Why a BMC operation failed; stable strings a caller (or a status page) can switch on. */
export type BmcFailureReason =
  "auth" | "unreachable" | "timeout" | "unsupported-cipher" | "session" | "command" | "state" | "config";

const REASON_TEXT: Record<BmcFailureReason, string> = {
  auth: "authentication refused",
  unreachable: "unreachable",
  timeout: "timed out",
  "unsupported-cipher": "cipher suite not supported by the BMC",
  session: "session failed",
  command: "command failed",
  state: "did not reach the expected state",
  config: "refused configuration",
};

const REASON_HINT: Record<BmcFailureReason, string> = {
  auth: "check the BMC username and password in the inventory (the password is not shown)",
  unreachable: "check the BMC address and port and that this machine is on the management network",
  timeout: "the BMC did not answer in time; check it is up and not overloaded",
  "unsupported-cipher":
    "configure the BMC to accept cipher suite 17 or 3, or set cipherSuite to one it accepts",
  session: "the BMC dropped or refused the session; retry later or reset the BMC",
  command: "the BMC refused the command",
  state: "the BMC did not report the requested state; it may be lying about power state or be stuck",
  config: "fix the endpoint configuration",
};

export interface BmcErrorTarget {
  readonly serverId: string;
  readonly address: string;
  readonly port: number;
}

/**
 * A failed BMC operation. The message says which server's BMC (id and address:port), the reason,
 * what to do, and a detail taken from the tool's output with the password removed.
 */
export class BmcError extends Error {
  public readonly reason: BmcFailureReason;
  public readonly serverId: string;
  public readonly address: string;
  public readonly port: number;
  public readonly detail: string;

  public constructor(reason: BmcFailureReason, target: BmcErrorTarget, detail: string, operation?: string) {
    const op = operation ? ` during "${operation}"` : "";
    const det = detail ? `: ${detail}` : "";
    super(
      `BMC of server "${target.serverId}" (${target.address}:${target.port}): ${REASON_TEXT[reason]}${op}${det}; ${REASON_HINT[reason]}`,
    );
    this.name = new.target.name;
    this.reason = reason;
    this.serverId = target.serverId;
    this.address = target.address;
    this.port = target.port;
    this.detail = detail;
  }

  /** Worth retrying: the BMC may answer next time. Authentication is never retried (account lockout). */
  public get transient(): boolean {
    return this.reason === "session" || this.reason === "unreachable" || this.reason === "timeout";
  }
}

export class BmcAuthError extends BmcError {}
export class BmcUnreachableError extends BmcError {}
export class BmcTimeoutError extends BmcError {}
export class BmcUnsupportedCipherError extends BmcError {}
export class BmcSessionError extends BmcError {}
export class BmcCommandError extends BmcError {}
export class BmcStateError extends BmcError {}
export class BmcConfigError extends BmcError {}

const CLASSES: Record<
  BmcFailureReason,
  new (r: BmcFailureReason, t: BmcErrorTarget, d: string, o?: string) => BmcError
> = {
  auth: BmcAuthError,
  unreachable: BmcUnreachableError,
  timeout: BmcTimeoutError,
  "unsupported-cipher": BmcUnsupportedCipherError,
  session: BmcSessionError,
  command: BmcCommandError,
  state: BmcStateError,
  config: BmcConfigError,
};

export function bmcError(
  reason: BmcFailureReason,
  target: BmcErrorTarget,
  detail: string,
  operation?: string,
): BmcError {
  return new CLASSES[reason](reason, target, detail, operation);
}

/** Removes every occurrence of the secret; even a short one, at the price of mangled text. */
export function redact(text: string, secret: string): string {
  if (secret.length < 1) return text;
  return text.split(secret).join("[redacted]");
}
