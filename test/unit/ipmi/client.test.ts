import { strict as assert } from "node:assert";
import { inspect } from "node:util";
import {
  BmcAuthError,
  BmcConfigError,
  BmcError,
  BmcStateError,
  BmcTimeoutError,
  IpmitoolBmcClient,
  probeCipherZero,
  type CommandResult,
  type CommandRunner,
} from "../../../lib/ipmi";

const PASSWORD = "Sup3r-Secret-pw";
const ENDPOINT = {
  serverId: "dc1-s1",
  address: "10.77.1.11",
  port: 623,
  username: "admin",
  password: PASSWORD,
} as const;

interface Call {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** A runner that answers from a script keyed by the ipmitool command (last words of argv). */
function fakeRunner(answer: (command: string, n: number) => Partial<CommandResult>): {
  runner: CommandRunner;
  calls: Call[];
} {
  const calls: Call[] = [];
  const runner: CommandRunner = async (file, args, opts) => {
    calls.push({ file, args, env: opts.env });
    const cIdx = args.indexOf("-R") + 2;
    const command = args.slice(cIdx).join(" ");
    const r = answer(command, calls.length);
    return { code: 0, stdout: "", stderr: "", timedOut: false, ...r };
  };
  return { runner, calls };
}

const FAST = {
  retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 },
  wait: { timeoutMs: 200, intervalMs: 5 },
};
const AUTH_FAIL = {
  code: 1,
  stderr: `> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session\n`,
};
const SESSION_FAIL = { code: 1, stderr: "Error: Unable to establish IPMI v2 / RMCP+ session\n" };

describe("IpmitoolBmcClient configuration", () => {
  it("refuses cipher suite 0 naming the server's BMC", () => {
    assert.throws(
      () => new IpmitoolBmcClient({ ...ENDPOINT, cipherSuite: 0 as 3 }),
      (e: unknown) =>
        e instanceof BmcConfigError &&
        /dc1-s1/.test(e.message) &&
        /10\.77\.1\.11:623/.test(e.message) &&
        /cipherSuite 0/.test(e.message),
    );
  });

  for (const suite of [1, 2, 4, 16]) {
    it(`refuses cipher suite ${suite} (allowed: 3, 17)`, () => {
      assert.throws(() => new IpmitoolBmcClient({ ...ENDPOINT, cipherSuite: suite as 3 }), /allowed: 3, 17/);
    });
  }

  it("accepts cipher suites 3 and 17 and defaults to 3 on port 623", () => {
    assert.equal(new IpmitoolBmcClient({ ...ENDPOINT, cipherSuite: 17 }).endpoint.cipherSuite, 17);
    const c = new IpmitoolBmcClient({ serverId: "s", address: "10.0.0.1", username: "u", password: "p" });
    assert.equal(c.endpoint.cipherSuite, 3);
    assert.equal(c.endpoint.port, 623);
  });

  it("refuses an empty password and one over IPMI's 20 bytes without showing it", () => {
    assert.throws(() => new IpmitoolBmcClient({ ...ENDPOINT, password: "" }), BmcConfigError);
    const long = "x".repeat(21);
    assert.throws(
      () => new IpmitoolBmcClient({ ...ENDPOINT, password: long }),
      (e: unknown) => e instanceof BmcConfigError && !e.message.includes(long) && /20 bytes/.test(e.message),
    );
  });

  it("refuses an address or user name that ipmitool would read as an option", () => {
    assert.throws(() => new IpmitoolBmcClient({ ...ENDPOINT, address: "-P" }), BmcConfigError);
    assert.throws(() => new IpmitoolBmcClient({ ...ENDPOINT, username: "-Pfoo" }), BmcConfigError);
  });

  it("does not reveal the password when inspected or serialised", () => {
    const c = new IpmitoolBmcClient(ENDPOINT);
    assert.ok(!inspect(c, { depth: 5 }).includes(PASSWORD));
    assert.ok(!JSON.stringify(c).includes(PASSWORD));
  });
});

describe("IpmitoolBmcClient commands", () => {
  it("passes the password only in IPMI_PASSWORD, never in the arguments, and nothing else of this process's environment", async () => {
    const { runner, calls } = fakeRunner(() => ({ stdout: "Chassis Power is on\n" }));
    assert.equal(await new IpmitoolBmcClient(ENDPOINT, { runner }).getPower(), "on");
    assert.equal(calls.length, 1);
    assert.ok(calls[0].args.every((a) => !a.includes(PASSWORD)));
    assert.equal(calls[0].env.IPMI_PASSWORD, PASSWORD);
    assert.deepEqual(Object.keys(calls[0].env).sort(), ["IPMI_PASSWORD", "LANG", "LC_ALL", "PATH"]);
  });

  it("maps a wrong password to BmcAuthError naming the server and address, without the password, and does not retry it", async () => {
    const { runner, calls } = fakeRunner(() => ({
      ...AUTH_FAIL,
      stderr: `${AUTH_FAIL.stderr}echo ${PASSWORD}\n`,
    }));
    const err = await new IpmitoolBmcClient(ENDPOINT, { runner, ...FAST })
      .getPower()
      .catch((e: unknown) => e);
    assert.ok(err instanceof BmcAuthError, String(err));
    assert.equal(err.reason, "auth");
    assert.match(err.message, /server "dc1-s1" \(10\.77\.1\.11:623\): authentication refused/);
    assert.ok(!err.message.includes(PASSWORD));
    assert.ok(!(err.stack ?? "").includes(PASSWORD));
    assert.equal(calls.length, 1, "authentication failures are not retried (account lockout)");
  });

  it("retries dropped sessions with back-off and succeeds when the BMC recovers", async () => {
    const { runner, calls } = fakeRunner((_c, n) =>
      n < 3 ? SESSION_FAIL : { stdout: "Chassis Power is off\n" },
    );
    assert.equal(await new IpmitoolBmcClient(ENDPOINT, { runner, ...FAST }).getPower(), "off");
    assert.equal(calls.length, 3);
  });

  it("gives up after the configured retries with a session error", async () => {
    const { runner, calls } = fakeRunner(() => SESSION_FAIL);
    await assert.rejects(
      new IpmitoolBmcClient(ENDPOINT, { runner, ...FAST }).getPower(),
      (e: unknown) => e instanceof BmcError && e.reason === "session",
    );
    assert.equal(calls.length, 3);
  });

  it("reports a killed, hanging ipmitool as a timeout", async () => {
    const { runner } = fakeRunner(() => ({ code: null, timedOut: true }));
    await assert.rejects(
      new IpmitoolBmcClient(ENDPOINT, { runner, ...FAST, retry: { retries: 0 } }).getPower(),
      BmcTimeoutError,
    );
  });

  it("re-reads the power state after a set until the BMC reports it (BMCs lie for a while)", async () => {
    let reads = 0;
    const { runner } = fakeRunner((cmd) => {
      if (cmd === "chassis power on") return { stdout: "Chassis Power Control: Up/On\n" };
      reads++;
      return { stdout: reads < 3 ? "Chassis Power is off\n" : "Chassis Power is on\n" };
    });
    await new IpmitoolBmcClient(ENDPOINT, { runner, ...FAST }).setPower("on");
    assert.equal(reads, 3);
  });

  it("fails with BmcStateError when the power state never comes", async () => {
    const { runner } = fakeRunner((cmd) =>
      cmd === "chassis power on"
        ? { stdout: "Chassis Power Control: Up/On\n" }
        : { stdout: "Chassis Power is off\n" },
    );
    await assert.rejects(
      new IpmitoolBmcClient(ENDPOINT, { runner, ...FAST }).setPower("on"),
      (e: unknown) => e instanceof BmcStateError && /power not on/.test(e.message),
    );
  });

  it("powers on instead of cycling a server that is off", async () => {
    const { runner, calls } = fakeRunner((cmd, n) =>
      cmd === "chassis power on"
        ? { stdout: "Chassis Power Control: Up/On\n" }
        : { stdout: n === 1 ? "Chassis Power is off\n" : "Chassis Power is on\n" },
    );
    await new IpmitoolBmcClient(ENDPOINT, { runner, ...FAST }).cycle();
    assert.ok(calls.some((c) => c.args.join(" ").endsWith("chassis power on")));
    assert.ok(!calls.some((c) => c.args.join(" ").endsWith("chassis power cycle")));
  });

  it("sends options=persistent only for a persistent boot device and checks the read-back", async () => {
    const { runner, calls } = fakeRunner((cmd) =>
      cmd.startsWith("chassis bootdev")
        ? { stdout: "Set Boot Device to pxe\n" }
        : { stdout: "Boot parameter data: 0004000000\n" },
    );
    const c = new IpmitoolBmcClient(ENDPOINT, { runner, ...FAST });
    await c.setBootDevice("pxe", { persistent: true });
    await c.setBootDevice("pxe", { persistent: false });
    const sets = calls
      .map((x) => x.args.slice(x.args.indexOf("-R") + 2).join(" "))
      .filter((s) => s.startsWith("chassis bootdev"));
    assert.deepEqual(sets, ["chassis bootdev pxe options=persistent", "chassis bootdev pxe"]);
  });

  it("fails with BmcStateError when the BMC keeps reporting another boot device", async () => {
    const { runner } = fakeRunner((cmd) =>
      cmd.startsWith("chassis bootdev")
        ? { stdout: "Set Boot Device to disk\n" }
        : { stdout: "Boot parameter data: 0004000000\n" },
    );
    await assert.rejects(
      new IpmitoolBmcClient(ENDPOINT, { runner, ...FAST }).setBootDevice("disk", { persistent: true }),
      (e: unknown) => e instanceof BmcStateError && /reports pxe/.test(e.message),
    );
  });
});

describe("probeCipherZero", () => {
  it("offers suite 0 with a random wrong password of at most 20 bytes and reports an accepted session", async () => {
    const { runner, calls } = fakeRunner(() => ({ stdout: "Chassis Power is on\n" }));
    const r = await probeCipherZero(
      { serverId: "dc1-s1", address: "10.77.1.11", username: "admin" },
      { runner },
    );
    assert.equal(r.acceptsCipherZero, true);
    assert.equal(calls[0].args[calls[0].args.indexOf("-C") + 1], "0");
    assert.ok(calls[0].env.IPMI_PASSWORD.length >= 12 && calls[0].env.IPMI_PASSWORD.length <= 20);
    assert.deepEqual(calls[0].args.slice(-3), ["chassis", "power", "status"], "a read-only command");
  });

  it("reports a BMC that refuses suite 0", async () => {
    const { runner } = fakeRunner(() => ({
      code: 1,
      stderr: "Error in open session response message : invalid authentication algorithm\n",
    }));
    assert.equal(
      (await probeCipherZero({ serverId: "s", address: "10.0.0.1", username: "admin" }, { runner }))
        .acceptsCipherZero,
      false,
    );
  });

  it("throws when it cannot tell (BMC unreachable)", async () => {
    const { runner } = fakeRunner(() => ({ code: 1, stderr: "Get Auth Capabilities error\n" }));
    await assert.rejects(
      probeCipherZero({ serverId: "s", address: "10.0.0.1", username: "admin" }, { runner }),
      /unreachable/,
    );
  });
});
