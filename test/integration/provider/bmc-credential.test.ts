/**
 * BmcCredential through the plugin as the engine drives it (a child process, gRPC), against a real
 * OpenIPMI ipmi_sim on the loopback (no namespaces needed): the plugin makes the managed password
 * itself and returns it only as a secret output, the initial credential is disabled at create, a
 * change of keepers is an in-place rotation to a fresh password on the other managed user, a
 * rotation the BMC does not honour leaves the working credential in place, refresh sees drift,
 * state from when the password was a RandomPassword input moves over without touching the BMC, and
 * no password ever appears on an ipmitool command line (a PATH wrapper records every argv).
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startBmcSim, stopBmcSim } from "../../../lab/bmc";
import { PluginHost, urnOf, type Props } from "../../../provider/host";
import { SECRET_SIG, secret } from "../../../provider/values";

const run = promisify(execFile);
const TYPE = "zeroroot:fleet:BmcCredential";
const URN = urnOf("dc1", "zeroroot", `zeroroot:fleet:Server$${TYPE}`, "dc1-s01-bmc-credential");
const ADDRESS = "127.0.0.1";
const PORT = 20000 + (process.pid % 20000);
const INITIAL = { username: "factory", password: "Init-7f3a9c" };
const KEEPERS = { period: "2026-Q4", generation: "0" };
const isSecret = (v: unknown) => !!v && typeof v === "object" && SECRET_SIG in v;
/** Every managed password the plugin returned, to look for in argv logs and messages. */
const made: string[] = [];
/** The managed password of a create or update: a secret output, letters and digits. */
function passwordOf(outs: Props, length = 16): string {
  assert.ok(isSecret(outs.password), "the managed password is a secret output");
  const pw = (outs.password as unknown as { value: unknown }).value;
  assert.ok(typeof pw === "string" && new RegExp(`^[A-Za-z0-9]{${length}}$`).test(pw), "letters and digits");
  made.push(pw);
  return pw;
}

const inputs = (over: Props = {}): Props => ({
  serverId: "dc1-s01",
  address: ADDRESS,
  port: PORT,
  cipherSuite: 3,
  initialUsername: INITIAL.username,
  initialPassword: secret(INITIAL.password),
  keepers: KEEPERS,
  ...over,
});

/** Whether `username`/`password` opens a session (ipmitool directly, password through -E). */
async function logsIn(username: string, password: string): Promise<boolean> {
  try {
    await run(
      "ipmitool",
      [
        "-I",
        "lanplus",
        "-C",
        "3",
        "-H",
        ADDRESS,
        "-p",
        String(PORT),
        "-U",
        username,
        "-E",
        "-N",
        "1",
        "-R",
        "1",
        "chassis",
        "power",
        "status",
      ],
      { env: { PATH: process.env.PATH ?? "", IPMI_PASSWORD: password }, timeout: 15_000 },
    );
    return true;
  } catch {
    return false;
  }
}

describe("provider plugin over gRPC: BmcCredential against ipmi_sim", function () {
  this.timeout(120_000);
  let dir: string;
  let plugin: PluginHost;
  /** As the engine keeps it: outputs, and the inputs (outputs do not repeat them). */
  let state: { id: string; outs: Props; inputs: Props };
  const argvLog = () => readFileSync(join(dir, "argv.log"), "utf8");
  const checked = async (over: Props = {}) => (await plugin.check(URN, {}, inputs(over))).inputs;

  const startSim = () =>
    startBmcSim({
      serverId: "dc1-s01",
      address: ADDRESS,
      port: PORT,
      serialPort: PORT + 1,
      username: INITIAL.username,
      password: INITIAL.password,
      stateDir: join(dir, "bmc"),
      bootCommand: ["true"],
    });

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "zr-bmc-credential-"));
    await startSim();
    // An ipmitool first on the plugin's PATH that records its argv, then runs the real one.
    const real = (await run("sh", ["-c", "command -v ipmitool"])).stdout.trim();
    writeFileSync(
      join(dir, "ipmitool"),
      `#!/bin/sh\nprintf '%s\\n' "$*" >> ${join(dir, "argv.log")}\nexec ${real} "$@"\n`,
    );
    chmodSync(join(dir, "ipmitool"), 0o755);
    plugin = await PluginHost.start({ env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}` } });
    await plugin.configure();
  });
  after(async () => {
    await plugin?.close();
    if (dir) {
      await stopBmcSim(join(dir, "bmc"));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Check fills the defaults, refuses a password input (the plugin makes it), bad keepers and clashing user ids, never echoing a password", async () => {
    const ok = await plugin.check(URN, {}, inputs());
    assert.deepEqual(ok.failures, []);
    assert.deepEqual(
      [ok.inputs.userIds, ok.inputs.channel, ok.inputs.usernameBase, ok.inputs.passwordBytes],
      [[3, 4], 1, "zeroroot", 16],
    );
    assert.ok(isSecret(ok.inputs.initialPassword));
    assert.ok(!("password" in ok.inputs), "no password input");
    const none = await plugin.check(URN, {}, inputs({ keepers: undefined }));
    assert.deepEqual(none.inputs.keepers, {}, "no keepers: an empty map, stored");
    const cases: [string, Props, string, RegExp][] = [
      [
        "a password given",
        { password: secret("Aa1Bb2Cc3Dd4Ee5F") },
        "password",
        /not an input \(value not shown\)/,
      ],
      ["keepers a list", { keepers: ["2026-Q4"] }, "keepers", /give a map of at most 16 strings/],
      [
        "a keeper not a string",
        { keepers: { generation: 1 } },
        "keepers",
        /give a map of at most 16 strings/,
      ],
      [
        "too many keepers",
        { keepers: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) },
        "keepers",
        /at most 16/,
      ],
      ["the same user id twice", { userIds: [3, 3] }, "userIds", /both 3; give two distinct/],
      ["the anonymous user", { userIds: [1, 4] }, "userIds", /in 2\.\.63/],
      ["an empty initial password", { initialPassword: secret("") }, "initialPassword", /1-20 bytes/],
    ];
    for (const [what, over, property, reason] of cases) {
      const r = await plugin.check(URN, {}, inputs(over));
      const f = r.failures.find((x) => x.property === property);
      assert.ok(f, `${what}: a failure on ${property} (got ${JSON.stringify(r.failures)})`);
      assert.match(f.reason, reason, what);
      assert.ok(!JSON.stringify(r.failures).includes("Aa1Bb2"), `${what}: the password is not shown`);
    }
  });

  it("Create sets the managed user, and afterwards the initial credential is refused", async () => {
    assert.ok(await logsIn(INITIAL.username, INITIAL.password), "the initial credential works before");
    const created = await checked();
    state = { ...(await plugin.create(URN, created)), inputs: created };
    assert.equal(state.id, "dc1-s01");
    assert.equal(state.outs.username, "zeroroot-a");
    assert.equal(state.outs.userId, 3);
    // Both facts were verified by create; only a problem a later read finds is stored.
    assert.deepEqual([state.outs.loginWorks, state.outs.initialLoginRefused], [undefined, undefined]);
    assert.ok(!("password" in state.inputs), "the password is not an input");
    const pw = passwordOf(state.outs);
    assert.ok(await logsIn("zeroroot-a", pw), "the managed credential logs in");
    assert.ok(!(await logsIn(INITIAL.username, INITIAL.password)), "the initial credential is refused");
  });

  it("Read reports the managed login working and the initial one refused", async () => {
    const r = await plugin.read(state.id, URN, state.outs, state.inputs);
    // Absent is "works": read stores only a problem (see the drift cases below).
    assert.deepEqual([r.props.loginWorks, r.props.initialLoginRefused], [undefined, undefined]);
    assert.equal(r.props.username, "zeroroot-a");
    assert.ok(isSecret(r.props.password), "Read keeps the password, secret, in the outputs");
    assert.ok(!("password" in r.inputs), "and out of the inputs");
  });

  it("the same keepers are no change: nothing rotates", async () => {
    const d = await plugin.diff(state.id, URN, state.outs, await checked(), state.inputs);
    assert.deepEqual(d, { changes: false, replaces: [], diffs: [], deleteBeforeReplace: false });
  });

  it("new keepers rotate in place to a fresh password on the other user; the old password is refused afterwards", async () => {
    const before = passwordOf(state.outs);
    const news = await checked({ keepers: { ...KEEPERS, period: "2027-Q1" } });
    const d = await plugin.diff(state.id, URN, state.outs, news, state.inputs);
    assert.deepEqual(d, { changes: true, replaces: [], diffs: ["keepers"], deleteBeforeReplace: false });
    const outs = await plugin.update(state.id, URN, state.outs, news, state.inputs);
    assert.equal(outs.username, "zeroroot-b");
    assert.equal(outs.userId, 4);
    const after = passwordOf(outs);
    assert.notEqual(after, before, "a fresh password");
    assert.ok(await logsIn("zeroroot-b", after), "the new credential logs in");
    assert.ok(!(await logsIn("zeroroot-a", before)), "the previous managed credential is refused");
    assert.ok(!(await logsIn(INITIAL.username, INITIAL.password)), "the initial one stays refused");
    state = { id: state.id, outs, inputs: news };
  });

  it("a rotation the BMC does not honour (a 20-byte password ipmi_sim accepts but never logs in with) fails and keeps the working credential", async () => {
    const working = passwordOf(state.outs);
    const news = await checked({ passwordBytes: 20 });
    assert.equal((await plugin.diff(state.id, URN, state.outs, news, state.inputs)).changes, true);
    await assert.rejects(plugin.update(state.id, URN, state.outs, news, state.inputs), (e: Error) => {
      assert.match(e.message, /new credential was set on user id 3 but its login is refused/);
      assert.match(e.message, /user "zeroroot-b"\) still logs in and stays in use/);
      // The 20-character password the plugin made is not known here: no such token at all.
      assert.doesNotMatch(e.message, /[A-Za-z0-9]{20}/, "no password in the message");
      assert.ok(!e.message.includes(working), "nor the working one");
      return true;
    });
    assert.ok(await logsIn("zeroroot-b", working), "the recorded credential still works");
  });

  it("refresh sees the initial user enabled again by hand, and the next update disables it again", async () => {
    await run(
      "ipmitool",
      [
        "-I",
        "lanplus",
        "-C",
        "3",
        "-H",
        ADDRESS,
        "-p",
        String(PORT),
        "-U",
        "zeroroot-b",
        "-E",
        "user",
        "enable",
        "2",
      ],
      { env: { PATH: process.env.PATH ?? "", IPMI_PASSWORD: passwordOf(state.outs) } },
    );
    assert.ok(await logsIn(INITIAL.username, INITIAL.password), "set-up: the initial credential works again");
    const r = await plugin.read(state.id, URN, state.outs, state.inputs);
    assert.equal(r.props.initialLoginRefused, false);
    assert.equal(r.props.loginWorks, undefined, "the managed login works: nothing stored for it");
    const news = await checked({ keepers: state.inputs.keepers });
    const d = await plugin.diff(state.id, URN, r.props, news, r.inputs);
    assert.deepEqual(d.changes, true, "drift makes the next diff an update");
    assert.deepEqual(d.replaces, []);
    const outs = await plugin.update(state.id, URN, r.props, news, r.inputs);
    assert.equal(outs.username, "zeroroot-a");
    assert.ok(!(await logsIn(INITIAL.username, INITIAL.password)), "the initial credential is refused again");
    assert.ok(await logsIn("zeroroot-a", passwordOf(outs)));
    state = { id: state.id, outs, inputs: news };
  });

  it("state from when the password was a RandomPassword input moves it into the outputs on the next update, touching no BMC", async () => {
    const pw = passwordOf(state.outs);
    // As the plugin stored it then: the password an input (secret), no keepers, outputs without it.
    const { keepers: _k, ...oldInputs } = state.inputs;
    void _k;
    const { password: _p, ...oldOuts } = state.outs;
    void _p;
    const legacy = {
      outs: { ...oldOuts, loginWorks: true, initialLoginRefused: true },
      inputs: { ...oldInputs, password: secret(pw) },
    };
    const news = await checked();
    const d = await plugin.diff(state.id, URN, legacy.outs, news, legacy.inputs);
    assert.deepEqual(d, { changes: true, replaces: [], diffs: ["keepers"], deleteBeforeReplace: false });
    const runs = argvLog().split("\n").length;
    const outs = await plugin.update(state.id, URN, legacy.outs, news, legacy.inputs);
    assert.equal(argvLog().split("\n").length, runs, "no ipmitool run: the BMC is not touched");
    assert.equal(passwordOf(outs), pw, "the working password, now a secret output");
    assert.deepEqual([outs.username, outs.userId], [state.outs.username, state.outs.userId]);
    assert.deepEqual([outs.loginWorks, outs.initialLoginRefused], [undefined, undefined]);
    assert.ok(await logsIn(String(outs.username), pw));
    state = { id: state.id, outs, inputs: news };
  });

  it("refuses to overwrite a user that is not zeroroot's, changing nothing", async () => {
    await run(
      "ipmitool",
      [
        "-I",
        "lanplus",
        "-C",
        "3",
        "-H",
        ADDRESS,
        "-p",
        String(PORT),
        "-U",
        "zeroroot-a",
        "-E",
        "user",
        "set",
        "name",
        "4",
        "alice",
      ],
      { env: { PATH: process.env.PATH ?? "", IPMI_PASSWORD: passwordOf(state.outs) } },
    );
    await assert.rejects(
      plugin.update(state.id, URN, state.outs, await checked({ keepers: { rotate: "now" } }), state.inputs),
      /user id 4 holds "alice", not one of zeroroot's \(zeroroot-a, zeroroot-b\); choose free userIds or clear it by hand; nothing was changed/,
    );
    assert.ok(await logsIn("zeroroot-a", passwordOf(state.outs)), "the recorded credential still works");
  });

  it("after a factory reset of the BMC, refresh sees the managed login refused and the next update enrolls again", async () => {
    // ipmi_sim keeps its users in its state directory: removing them is the lab's factory reset.
    await stopBmcSim(join(dir, "bmc"));
    rmSync(join(dir, "bmc", "sim", "ipmi_sim", "zr-dc1-s01", "users.mc20"));
    await startSim();
    assert.ok(await logsIn(INITIAL.username, INITIAL.password), "set-up: the factory credential is back");
    const r = await plugin.read(state.id, URN, state.outs, state.inputs);
    assert.deepEqual([r.props.loginWorks, r.props.initialLoginRefused], [false, false]);
    const news = await checked({ keepers: state.inputs.keepers });
    assert.equal((await plugin.diff(state.id, URN, r.props, news, r.inputs)).changes, true);
    const outs = await plugin.update(state.id, URN, r.props, news, r.inputs);
    assert.ok(await logsIn(String(outs.username), passwordOf(outs)), "the managed credential works again");
    assert.ok(!(await logsIn(INITIAL.username, INITIAL.password)), "the factory credential is refused again");
    state = { id: state.id, outs, inputs: news };
  });

  it("an unreachable BMC fails the update with the reason and keeps the recorded credential", async () => {
    await stopBmcSim(join(dir, "bmc"));
    await assert.rejects(
      plugin.update(state.id, URN, state.outs, await checked({ keepers: { rotate: "again" } }), state.inputs),
      /BMC of server "dc1-s01" \(127\.0\.0\.1:\d+\): (unreachable|session failed|timed out).*nothing was changed and the recorded credential stays in use/,
    );
  });

  it("never put a password on an ipmitool command line", () => {
    const argv = argvLog();
    assert.match(argv, /user list 1/, "the wrapper saw the plugin's ipmitool runs");
    assert.match(argv, /exec \/\S+\/commands/, "new passwords went through a command file");
    assert.ok(made.length >= 3, "the plugin made several passwords");
    for (const pw of [INITIAL.password, ...made])
      assert.ok(!argv.includes(pw), "a password appeared in an ipmitool argv");
    // The 20-character one that ipmi_sim never honoured was never returned: no such token either.
    assert.doesNotMatch(argv, /(^|[^A-Za-z0-9])[A-Za-z0-9]{20}([^A-Za-z0-9]|$)/m);
  });
});
