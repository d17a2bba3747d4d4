/**
 * BmcCredential: the BMC credential of one server that no human knows (docs/bmc.md). The plugin
 * makes the managed password itself (node:crypto's CSPRNG, letters and digits, `passwordBytes`
 * characters) and returns it only as a secret output: no separate random resource, no second
 * stored copy, never on a command line or in a log. `create` logs in with the initial (factory or
 * inventory) credential, sets a fresh password on a dedicated user, verifies its login and disables
 * the initial user. Every in-place `update` is a rotation to a fresh password (a `keepers` value
 * moved on, a managed-user setting changed, or drift seen by refresh): it logs in with the recorded
 * credential, writes the other of the two managed user slots, verifies it and only then disables the
 * old one (lib/ipmi's rotateBmcCredential). A failed update throws, so the engine keeps the old,
 * still working, credential. `read` reports whether the recorded credential still logs in and
 * whether the initial one is refused; either being false makes the next diff rotate. `delete`
 * changes nothing on the BMC: the credential is forgotten (recovery: docs/bmc.md).
 */
import { randomInt } from "node:crypto";
import {
  ALLOWED_CIPHER_SUITES,
  MANAGED_USER_DEFAULTS,
  checkBmcCredential,
  managedUserSpecProblem,
  rotateBmcCredential,
  type BmcAddress,
  type CipherSuite,
  type ManagedUserSpec,
} from "../../lib/ipmi";
import { resourceType } from "../../lib/contracts/resources";
import { Checker, shown } from "../checks";
import { changedKeys, inputsOf, type Handler, type Props } from "../types";

const INPUTS = [
  "serverId",
  "address",
  "port",
  "cipherSuite",
  "initialUsername",
  "initialPassword",
  "keepers",
  "userIds",
  "channel",
  "usernameBase",
  "passwordBytes",
] as const;
/** Another server or another BMC: a new credential resource (nothing is removed from the old BMC). */
const REPLACES = ["serverId", "address", "port"];
/** Bounds on `keepers`, checked before any work. */
const MAX_KEEPERS = 16;
const MAX_KEEPER_TEXT = 256;

/** Letters and digits only (lib/ipmi's MANAGED_PASSWORD): safe in ipmitool's command file. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A fresh managed password: `length` characters drawn uniformly (randomInt rejects biased draws). */
export function generateManagedPassword(length: 16 | 20): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

const addressOf = (p: Props): BmcAddress => ({
  serverId: String(p.serverId),
  address: String(p.address),
  port: Number(p.port),
  cipherSuite: p.cipherSuite as CipherSuite,
});

const specOf = (p: Props): ManagedUserSpec => ({
  userIds: p.userIds as [number, number],
  channel: Number(p.channel),
  usernameBase: String(p.usernameBase),
  passwordBytes: p.passwordBytes as 16 | 20,
});

const initialOf = (p: Props) => ({
  username: String(p.initialUsername),
  password: String(p.initialPassword),
});

/** The recorded working login, if the state holds one. */
const currentOf = (olds?: Props) =>
  olds &&
  typeof olds.username === "string" &&
  typeof olds.password === "string" &&
  typeof olds.userId === "number"
    ? { username: olds.username, password: olds.password, userId: olds.userId }
    : undefined;

async function rotate(news: Props, olds?: Props): Promise<Props> {
  const spec = specOf(news);
  const password = generateManagedPassword(spec.passwordBytes);
  const r = await rotateBmcCredential({
    bmc: addressOf(news),
    spec,
    initial: initialOf(news),
    current: currentOf(olds),
    nextPassword: password,
  });
  return {
    ...inputsOf(news, INPUTS),
    username: r.username,
    userId: r.userId,
    password,
    rotatedAt: new Date().toISOString(),
  };
}

/**
 * What read observed, stored only when it is a problem: create and update verify both facts before
 * they return, so `true` would repeat what every successful credential already says (state bytes
 * per server). Absent means it worked at the last create, update or read; `false` makes the next
 * diff rotate.
 */
const problemsOf = (seen: { loginWorks: boolean; initialLoginRefused: boolean }): Props => ({
  ...(seen.loginWorks ? {} : { loginWorks: false }),
  ...(seen.initialLoginRefused ? {} : { initialLoginRefused: false }),
});

/**
 * State written while the password came from a RandomPassword (an input, no `keepers` input):
 * the upgrade only moves the working password into the outputs, touching no BMC, when nothing
 * else changed and the credential is not drifted. The next change of `keepers` rotates.
 */
function carriesOver(olds: Props, news: Props): boolean {
  if (olds.keepers !== undefined || !currentOf(olds)) return false;
  if (olds.loginWorks === false || olds.initialLoginRefused === false) return false;
  const others = INPUTS.filter((k) => k !== "keepers");
  return changedKeys(olds, news, others).length === 0;
}

function checkKeepers(c: Checker, keepers: unknown): void {
  const isMap = !!keepers && typeof keepers === "object" && !Array.isArray(keepers);
  const entries = isMap ? Object.entries(keepers) : [];
  if (
    !isMap ||
    entries.length > MAX_KEEPERS ||
    entries.some(
      ([k, v]) => k.length > MAX_KEEPER_TEXT || typeof v !== "string" || v.length > MAX_KEEPER_TEXT,
    )
  )
    c.fail(
      "keepers",
      `keepers is ${shown(keepers)}; give a map of at most ${MAX_KEEPERS} strings (keys and values at most ${MAX_KEEPER_TEXT} characters) whose change rotates the password, e.g. {"period": "2026-Q4", "generation": "0"}`,
    );
}

export const bmcCredential: Handler = {
  token: resourceType("BmcCredential"),
  secretOutputs: ["password", "initialPassword"],
  check(news) {
    const inputs: Props = {
      ...news,
      port: news.port ?? 623,
      cipherSuite: news.cipherSuite ?? 3,
      // Always present, so state from before keepers existed (no such input) is told apart.
      keepers: news.keepers ?? {},
      userIds: news.userIds ?? [...MANAGED_USER_DEFAULTS.userIds],
      channel: news.channel ?? MANAGED_USER_DEFAULTS.channel,
      usernameBase: news.usernameBase ?? MANAGED_USER_DEFAULTS.usernameBase,
      passwordBytes: news.passwordBytes ?? MANAGED_USER_DEFAULTS.passwordBytes,
    };
    const c = new Checker(inputs);
    c.text("serverId", 63);
    c.text("address", 253);
    c.int("port", 1, 65535);
    c.oneOf("cipherSuite", ALLOWED_CIPHER_SUITES);
    c.text("initialUsername", 16);
    // Password values are never shown: only what is wrong with them.
    const initial = inputs.initialPassword;
    if (typeof initial !== "string" || initial.length === 0 || Buffer.byteLength(initial) > 20)
      c.fail("initialPassword", "initialPassword: give the BMC's initial password, 1-20 bytes, as a secret");
    if (news.password !== undefined)
      c.fail(
        "password",
        "password is not an input (value not shown): the plugin makes the managed password itself and returns it as a secret output; remove it, and change keepers to rotate",
      );
    checkKeepers(c, inputs.keepers);
    const ids = inputs.userIds;
    const spec = Array.isArray(ids) && ids.length === 2 ? specOf(inputs) : undefined;
    const specProblem = spec ? managedUserSpecProblem(spec) : "userIds: give two user ids, e.g. [3, 4]";
    if (specProblem) c.fail(specProblem.split(" ")[0], specProblem);
    return c.result(inputs);
  },
  diff(_id, olds, news) {
    const replaces = changedKeys(olds, news, REPLACES);
    const updates = changedKeys(
      olds,
      news,
      INPUTS.filter((k) => !REPLACES.includes(k)),
    );
    // Drift seen by refresh (the recorded login refused, or the initial one accepted again, e.g.
    // after a BMC reset): the next update rotates, which re-establishes the credential.
    if (olds.loginWorks === false || olds.initialLoginRefused === false) updates.push("password");
    return { replaces, updates: [...new Set(updates)] };
  },
  async create(inputs) {
    return { id: String(inputs.serverId), outs: await rotate(inputs) };
  },
  async read(id, props) {
    // The BMC never gives a password back: without the recorded one there is nothing to import.
    if (typeof props.username !== "string" || typeof props.password !== "string")
      throw new Error(
        `BmcCredential ${id} cannot be imported: its managed password exists only in state; declare the resource and let create enroll the BMC with its initial credential`,
      );
    const seen = await checkBmcCredential(
      addressOf(props),
      specOf(props),
      { username: props.username, password: props.password },
      initialOf(props),
    );
    const { loginWorks: _w, initialLoginRefused: _r, ...rest } = props;
    void [_w, _r];
    return { id, props: { ...rest, ...problemsOf(seen) }, inputs: inputsOf(props, INPUTS) };
  },
  async update(_id, olds, news) {
    if (carriesOver(olds, news))
      return {
        ...inputsOf(news, INPUTS),
        username: olds.username,
        userId: olds.userId,
        password: olds.password,
        rotatedAt: olds.rotatedAt,
      };
    return rotate(news, olds);
  },
  // delete: nothing on the BMC. Disabling the managed user would lock everyone out; re-enabling the
  // initial one would bring back a known password. Hand-over of a machine: docs/bmc.md.
};
