/**
 * Pure parts of BMC user management over ipmitool: the two user slots zeroroot alternates between,
 * the command file that sets a user (ipmitool `exec`, so the new password is on no command line),
 * parsing `user list`, and the rules a managed password must meet. I/O lives in credential.ts.
 */

/** Where zeroroot keeps its own BMC user, and how. */
export interface ManagedUserSpec {
  /**
   * The two user ids zeroroot alternates between: a rotation writes the one not in use, checks it
   * logs in, and only then disables the other, so a failed rotation never touches the working one.
   * @default [3, 4]
   */
  readonly userIds: readonly [number, number];
  /** The BMC's LAN channel the users are enabled on. @default 1 */
  readonly channel: number;
  /** Slot names are `<usernameBase>-a` and `<usernameBase>-b`. @default "zeroroot" */
  readonly usernameBase: string;
  /** IPMI password field: 16 (IPMI 1.5 form) or 20 bytes (IPMI 2.0). @default 16 */
  readonly passwordBytes: 16 | 20;
}

export const MANAGED_USER_DEFAULTS: ManagedUserSpec = {
  userIds: [3, 4],
  channel: 1,
  usernameBase: "zeroroot",
  passwordBytes: 16,
};

/** Managed passwords are letters and digits only: safe in ipmitool's command file, ~95 bits at 16. */
export const MANAGED_PASSWORD = /^[A-Za-z0-9]+$/;
export const MIN_MANAGED_PASSWORD_LENGTH = 16;
const USERNAME_BASE = /^[a-z][a-z0-9-]{0,13}$/;
/** User id 1 is the anonymous (null) user on every IPMI BMC: never ours. */
const MIN_USER_ID = 2;
const MAX_USER_ID = 63;

/** Why a managed-user spec is unusable, or undefined. Messages name the field and the value. */
export function managedUserSpecProblem(s: ManagedUserSpec): string | undefined {
  const [a, b] = s.userIds;
  for (const id of s.userIds)
    if (!Number.isInteger(id) || id < MIN_USER_ID || id > MAX_USER_ID)
      return `userIds holds ${JSON.stringify(id)}; give two distinct whole numbers in ${MIN_USER_ID}..${MAX_USER_ID}`;
  if (a === b) return `userIds are both ${a}; give two distinct user ids (zeroroot alternates between them)`;
  if (!Number.isInteger(s.channel) || s.channel < 1 || s.channel > 15)
    return `channel is ${JSON.stringify(s.channel)}; give the BMC's LAN channel, 1..15`;
  if (!USERNAME_BASE.test(s.usernameBase))
    return `usernameBase is ${JSON.stringify(s.usernameBase)}; give 1-14 of [a-z0-9-], starting with a letter`;
  if (s.passwordBytes !== 16 && s.passwordBytes !== 20)
    return `passwordBytes is ${JSON.stringify(s.passwordBytes)}; allowed: 16, 20`;
  return undefined;
}

/** Why a managed password is refused, or undefined; never shows the value. */
export function managedPasswordProblem(password: unknown, passwordBytes: 16 | 20): string | undefined {
  if (typeof password !== "string" || !MANAGED_PASSWORD.test(password))
    return "the managed password must be letters and digits only (value not shown)";
  if (password.length < MIN_MANAGED_PASSWORD_LENGTH || password.length > passwordBytes)
    return `the managed password must be ${MIN_MANAGED_PASSWORD_LENGTH}..${passwordBytes} characters (value not shown)`;
  return undefined;
}

/** The user name of slot `index` (0 or 1). */
export function slotUsername(spec: ManagedUserSpec, index: 0 | 1): string {
  return `${spec.usernameBase}-${index === 0 ? "a" : "b"}`;
}

/**
 * The slot a rotation writes: the one the current managed credential is not in (slot 0 when there
 * is none, e.g. at enrollment).
 */
export function nextSlot(spec: ManagedUserSpec, currentUserId: number | undefined): 0 | 1 {
  return currentUserId === spec.userIds[0] ? 1 : 0;
}

/**
 * The lines of an ipmitool command file that make `userId` an enabled administrator named `name`
 * with `password` on `channel`. `user priv` is needed: without it ipmi_sim refuses the session.
 */
export function setUserScript(spec: ManagedUserSpec, userId: number, name: string, password: string): string {
  return [
    `user set name ${userId} ${name}`,
    `user set password ${userId} ${password} ${spec.passwordBytes}`,
    `channel setaccess ${spec.channel} ${userId} link=on ipmi=on callin=on privilege=4`,
    `user priv ${userId} 4 ${spec.channel}`,
    `user enable ${userId}`,
    "",
  ].join("\n");
}

export interface BmcUser {
  readonly id: number;
  /** "" for an empty slot. */
  readonly name: string;
}

/** Parses `ipmitool user list <channel>`: `ID  Name  Callin  Link Auth  IPMI Msg  Channel Priv Limit`. */
export function parseUserList(stdout: string): BmcUser[] {
  const users: BmcUser[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^(\d{1,2})\s(.*?)\s+(true|false)\s+(true|false)\s+(true|false)\s+\S/.exec(line);
    if (m) users.push({ id: Number(m[1]), name: m[2].trim() });
  }
  return users;
}

/**
 * Why zeroroot may not write `userId`, or undefined: a slot holding someone else's user (not empty,
 * not one of the two managed names) is never overwritten, nor is the initial user's.
 */
export function slotProblem(
  spec: ManagedUserSpec,
  users: readonly BmcUser[],
  userId: number,
  initialUsername: string,
): string | undefined {
  const u = users.find((x) => x.id === userId);
  if (!u) return `the BMC lists no user id ${userId}; choose userIds it has (see \`ipmitool user list\`)`;
  const ours = [slotUsername(spec, 0), slotUsername(spec, 1)];
  if (u.name === initialUsername)
    return `user id ${userId} is the initial user ${JSON.stringify(u.name)}; choose other userIds`;
  if (u.name !== "" && !ours.includes(u.name))
    return `user id ${userId} holds ${JSON.stringify(u.name)}, not one of zeroroot's (${ours.join(", ")}); choose free userIds or clear it by hand`;
  return undefined;
}
