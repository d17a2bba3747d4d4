/**
 * Rotating a BMC's credential to one nobody knows, and checking it. A rotation logs in with the
 * credential that works now (the managed one, else the initial one), writes the new password into
 * the managed slot not in use, checks that the new user logs in, and only then disables the
 * previous managed user and the initial user, and checks the initial login is refused. Until the
 * new login is verified nothing that works is touched, so a failure leaves the working credential
 * in place and says so. New passwords reach ipmitool in a 0600 command file inside a private 0700
 * directory (`ipmitool exec`), removed afterwards; session passwords go through `-E` as ever.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BmcError, redact } from "./errors";
import { withRetry, type RetryPolicy } from "./retry";
import { resolveEndpoint, resolveRunOptions, runOnce, type IpmitoolClientOptions } from "./session";
import type { CipherSuite } from "./types";
import {
  managedPasswordProblem,
  managedUserSpecProblem,
  nextSlot,
  parseUserList,
  setUserScript,
  slotProblem,
  slotUsername,
  type BmcUser,
  type ManagedUserSpec,
} from "./users";

export interface BmcLogin {
  readonly username: string;
  /** Never logged, never on a command line. */
  readonly password: string;
}

export interface BmcAddress {
  readonly serverId: string;
  readonly address: string;
  /** @default 623 */
  readonly port?: number;
  /** @default 3 */
  readonly cipherSuite?: CipherSuite;
}

export interface RotationRequest {
  readonly bmc: BmcAddress;
  readonly spec: ManagedUserSpec;
  /** The factory or inventory credential; disabled by the rotation. */
  readonly initial: BmcLogin;
  /** The managed credential recorded by the last rotation, if any. */
  readonly current?: BmcLogin & { readonly userId: number };
  /** The new password (letters and digits, 16..passwordBytes characters). */
  readonly nextPassword: string;
}

export interface RotationResult {
  readonly username: string;
  readonly userId: number;
  /** Which credential the rotation logged in with. */
  readonly loggedInWith: "managed" | "initial";
}

export interface CredentialCheck {
  /** The managed credential opens a session. */
  readonly loginWorks: boolean;
  /** The initial credential is refused. */
  readonly initialLoginRefused: boolean;
}

/** A rotation that did not complete; `message` says what still works. Secrets are never in it. */
export class BmcRotationError extends Error {
  constructor(
    readonly serverId: string,
    message: string,
  ) {
    super(message);
    this.name = "BmcRotationError";
  }
}

/** Bounded retries for logins whose refusal is the expected answer (disabled users look like drops). */
const PROBE_RETRY: RetryPolicy = { retries: 1, baseDelayMs: 200, maxDelayMs: 400 };
const COMMAND_RETRY: RetryPolicy = { retries: 2, baseDelayMs: 250, maxDelayMs: 1000 };

type Options = Omit<IpmitoolClientOptions, "retry" | "wait">;

class Session {
  private readonly o;
  constructor(
    private readonly bmc: BmcAddress,
    options: Options,
  ) {
    this.o = resolveRunOptions(options);
  }

  run(login: BmcLogin, command: readonly string[], operation: string, retry = COMMAND_RETRY) {
    const ep = resolveEndpoint({ ...this.bmc, ...login });
    return withRetry(
      () => runOnce(ep, login.password, command, operation, this.o),
      (e) => e instanceof BmcError && e.transient,
      retry,
    );
  }

  /** Runs an ipmitool command file (it holds a new password) from a private directory, then removes it. */
  async exec(login: BmcLogin, script: string, operation: string): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), "zr-ipmi-"));
    try {
      const file = join(dir, "commands");
      writeFileSync(file, script, { mode: 0o600, flag: "wx" });
      // Not retried: a half-applied script is re-run whole by the next rotation instead.
      await this.run(login, ["exec", file], operation, { ...COMMAND_RETRY, retries: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** true: a session opens; false: refused (wrong password, disabled user); throws when it cannot tell. */
  async logsIn(login: BmcLogin, channel: number): Promise<boolean> {
    try {
      await this.run(login, ["user", "list", String(channel)], `login as ${login.username}`, PROBE_RETRY);
      return true;
    } catch (e) {
      if (e instanceof BmcError && (e.reason === "auth" || e.reason === "session")) return false;
      throw e;
    }
  }

  async users(login: BmcLogin, channel: number): Promise<BmcUser[]> {
    const out = await this.run(login, ["user", "list", String(channel)], "user list");
    return parseUserList(out);
  }
}

const where = (b: BmcAddress) => `BMC of server "${b.serverId}" (${b.address}:${b.port ?? 623})`;

/** Refuses a bad request before any session is opened. */
function checkRequest(r: RotationRequest): void {
  const problem =
    managedUserSpecProblem(r.spec) ?? managedPasswordProblem(r.nextPassword, r.spec.passwordBytes);
  if (problem) throw new BmcRotationError(r.bmc.serverId, `${where(r.bmc)}: ${problem}; nothing was changed`);
  const ours = [slotUsername(r.spec, 0), slotUsername(r.spec, 1)];
  if (ours.includes(r.initial.username))
    throw new BmcRotationError(
      r.bmc.serverId,
      `${where(r.bmc)}: the initial user ${JSON.stringify(r.initial.username)} has a managed user's name (${ours.join(", ")}); choose another usernameBase; nothing was changed`,
    );
}

/** Logs in with the managed credential if it works, else the initial one; says so when neither does. */
async function adminLogin(
  s: Session,
  r: RotationRequest,
): Promise<{ login: BmcLogin; with: "managed" | "initial" }> {
  if (r.current && (await s.logsIn(r.current, r.spec.channel))) return { login: r.current, with: "managed" };
  if (await s.logsIn(r.initial, r.spec.channel)) return { login: r.initial, with: "initial" };
  const tried = r.current
    ? `neither the managed credential (user ${JSON.stringify(r.current.username)}) nor the initial one (user ${JSON.stringify(r.initial.username)})`
    : `the initial credential (user ${JSON.stringify(r.initial.username)})`;
  throw new BmcRotationError(
    r.bmc.serverId,
    `${where(r.bmc)}: ${tried} ${r.current ? "logs" : "does not log"} in, so the credential cannot be rotated; nothing was changed. ` +
      'If this BMC was rotated before and its state lost, recover it as docs/bmc.md ("Recovering a BMC") describes',
  );
}

/** Rotates the BMC's managed credential to `nextPassword` (see the file's comment). */
export async function rotateBmcCredential(
  r: RotationRequest,
  options: Options = {},
): Promise<RotationResult> {
  checkRequest(r);
  const s = new Session(r.bmc, options);
  let admin: Awaited<ReturnType<typeof adminLogin>>;
  let users: BmcUser[];
  try {
    admin = await adminLogin(s, r);
    users = await s.users(admin.login, r.spec.channel);
  } catch (e) {
    if (e instanceof BmcRotationError) throw e;
    throw new BmcRotationError(
      r.bmc.serverId,
      `${message(e)}; the rotation did not start, nothing was changed and the recorded credential stays in use`,
    );
  }
  // The slot not holding the working managed user; when we logged in as the initial user (first
  // enrollment, or a managed credential lost), the slot not recorded as current.
  const index = nextSlot(r.spec, r.current?.userId);
  const userId = r.spec.userIds[index];
  const username = slotUsername(r.spec, index);
  const slot = slotProblem(r.spec, users, userId, r.initial.username);
  if (slot) throw new BmcRotationError(r.bmc.serverId, `${where(r.bmc)}: ${slot}; nothing was changed`);
  const keeps = `the credential that worked before (user ${JSON.stringify(admin.login.username)}) still logs in and stays in use`;
  const fresh: BmcLogin = { username, password: r.nextPassword };

  try {
    await s.exec(admin.login, setUserScript(r.spec, userId, username, r.nextPassword), `set user ${userId}`);
  } catch (e) {
    await disableQuietly(s, admin.login, userId);
    throw new BmcRotationError(
      r.bmc.serverId,
      `${where(r.bmc)}: setting the new credential on user id ${userId} failed (${redact(message(e), r.nextPassword)}); ${keeps}`,
    );
  }
  if (!(await s.logsIn(fresh, r.spec.channel))) {
    await disableQuietly(s, admin.login, userId);
    throw new BmcRotationError(
      r.bmc.serverId,
      `${where(r.bmc)}: the new credential was set on user id ${userId} but its login is refused, so user id ${userId} was disabled again; ${keeps}`,
    );
  }
  // From here the new credential works: retire the others with it, the one we logged in with last,
  // so that a failure part-way still leaves that one working (and it stays recorded).
  const initialId = users.find((u) => u.name === r.initial.username)?.id;
  const adminId = admin.with === "managed" ? r.current?.userId : initialId;
  const retire = [
    ...r.spec.userIds.filter((id) => id !== userId && id !== adminId),
    ...(initialId !== undefined && initialId !== adminId ? [initialId] : []),
    ...(adminId !== undefined ? [adminId] : []),
  ];
  // Checked while the login we came in with still works, so that a failure leaves it working.
  const initialRefused = async (): Promise<void> => {
    if (await s.logsIn(r.initial, r.spec.channel))
      throw new BmcRotationError(
        r.bmc.serverId,
        `${where(r.bmc)}: the initial user ${JSON.stringify(r.initial.username)} still logs in after it was disabled` +
          `${initialId === undefined ? " (the BMC does not list it by that name)" : ""}; ${keeps}; disable it by hand`,
      );
  };
  for (const id of retire) {
    if (id === adminId && admin.with === "managed") await initialRefused();
    try {
      await s.run(fresh, ["user", "disable", String(id)], `user disable ${id}`);
    } catch (e) {
      // An answer lost after the BMC applied it: the old login being refused is what matters.
      if (id === adminId && !(await s.logsIn(admin.login, r.spec.channel))) continue;
      throw new BmcRotationError(
        r.bmc.serverId,
        `${where(r.bmc)}: the new credential (user ${JSON.stringify(username)}) works but disabling user id ${id} failed (${message(e)}); ${keeps}; run the update again`,
      );
    }
  }
  if (admin.with === "initial") await initialRefused();
  return { username, userId, loggedInWith: admin.with };
}

/** What `pulumi refresh` reports: does the managed credential log in, is the initial one refused. */
export async function checkBmcCredential(
  bmc: BmcAddress,
  spec: ManagedUserSpec,
  managed: BmcLogin,
  initial: BmcLogin,
  options: Options = {},
): Promise<CredentialCheck> {
  const s = new Session(bmc, options);
  const loginWorks = await s.logsIn(managed, spec.channel);
  const initialLoginRefused = !(await s.logsIn(initial, spec.channel));
  return { loginWorks, initialLoginRefused };
}

async function disableQuietly(s: Session, login: BmcLogin, userId: number): Promise<void> {
  try {
    await s.run(login, ["user", "disable", String(userId)], `user disable ${userId}`);
  } catch {
    // Best effort: the slot is not recorded anywhere, and the next rotation writes it again.
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 400);
