/**
 * BmcCredential: the BMC credential of one server that no human knows (docs/bmc.md). `create` logs
 * in with the initial (factory or inventory) credential, sets the managed password on a dedicated
 * user, verifies its login and disables the initial user; a new password (the RandomPassword's
 * keeper moved on) is an in-place `update` that logs in with the recorded credential, writes the
 * other of the two managed user slots, verifies it and only then disables the old one (lib/ipmi's
 * rotateBmcCredential). A failed update throws, so the engine keeps the old, still working,
 * credential. `read` reports whether the recorded credential still logs in and whether the initial
 * one is refused; either being false makes the next diff re-establish the credential. `delete`
 * changes nothing on the BMC: the credential is forgotten (recovery: docs/bmc.md).
 */
import {
  ALLOWED_CIPHER_SUITES,
  MANAGED_USER_DEFAULTS,
  checkBmcCredential,
  managedPasswordProblem,
  managedUserSpecProblem,
  rotateBmcCredential,
  type BmcAddress,
  type CipherSuite,
  type ManagedUserSpec,
} from "../../lib/ipmi";
import { resourceType } from "../../lib/contracts/resources";
import { Checker } from "../checks";
import { changedKeys, inputsOf, type Handler, type Props } from "../types";

const INPUTS = [
  "serverId",
  "address",
  "port",
  "cipherSuite",
  "initialUsername",
  "initialPassword",
  "password",
  "userIds",
  "channel",
  "usernameBase",
  "passwordBytes",
] as const;
/** Another server or another BMC: a new credential resource (nothing is removed from the old BMC). */
const REPLACES = ["serverId", "address", "port"];

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

async function rotate(news: Props, olds?: Props): Promise<Props> {
  const current =
    olds && typeof olds.username === "string" && typeof olds.userId === "number"
      ? { username: olds.username, password: String(olds.password), userId: olds.userId }
      : undefined;
  const r = await rotateBmcCredential({
    bmc: addressOf(news),
    spec: specOf(news),
    initial: initialOf(news),
    current,
    nextPassword: String(news.password),
  });
  return {
    ...inputsOf(news, INPUTS),
    username: r.username,
    userId: r.userId,
    loginWorks: true,
    initialLoginRefused: true,
    rotatedAt: new Date().toISOString(),
  };
}

export const bmcCredential: Handler = {
  token: resourceType("BmcCredential"),
  secretOutputs: ["password", "initialPassword"],
  check(news) {
    const inputs: Props = {
      ...news,
      port: news.port ?? 623,
      cipherSuite: news.cipherSuite ?? 3,
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
    const ids = inputs.userIds;
    const spec = Array.isArray(ids) && ids.length === 2 ? specOf(inputs) : undefined;
    const specProblem = spec ? managedUserSpecProblem(spec) : "userIds: give two user ids, e.g. [3, 4]";
    if (specProblem) c.fail(specProblem.split(" ")[0], specProblem);
    const pw = managedPasswordProblem(inputs.password, spec?.passwordBytes ?? 16);
    if (pw) c.fail("password", `password: ${pw}`);
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
    // after a BMC reset): the next update re-establishes the credential.
    if (olds.loginWorks === false || olds.initialLoginRefused === false) updates.push("password");
    return { replaces, updates: [...new Set(updates)] };
  },
  async create(inputs) {
    return { id: String(inputs.serverId), outs: await rotate(inputs) };
  },
  async read(id, props) {
    if (typeof props.username !== "string" || typeof props.password !== "string")
      throw new Error(`BmcCredential ${id} cannot be imported: its managed credential exists only in state`);
    const seen = await checkBmcCredential(
      addressOf(props),
      specOf(props),
      { username: props.username, password: props.password },
      initialOf(props),
    );
    return { id, props: { ...props, ...seen }, inputs: inputsOf(props, INPUTS) };
  },
  async update(_id, olds, news) {
    return rotate(news, olds);
  },
  // delete: nothing on the BMC. Disabling the managed user would lock everyone out; re-enabling the
  // initial one would bring back a known password. Hand-over of a machine: docs/bmc.md.
};
