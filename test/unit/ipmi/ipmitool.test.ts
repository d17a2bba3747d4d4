import { strict as assert } from "node:assert";
import {
  classifyFailure,
  failureDetail,
  parseBootParam,
  parsePowerStatus,
  sessionArgs,
} from "../../../lib/ipmi";
import { backoffDelay, DEFAULT_RETRY } from "../../../lib/ipmi/retry";

const SESSION = {
  address: "10.77.1.11",
  port: 623,
  username: "admin",
  cipherSuite: 3,
  packetTimeoutSec: 1,
  packetRetries: 2,
};

describe("ipmitool arguments", () => {
  it("use IPMI v2.0 lanplus with the given cipher suite and read the password from the environment (-E)", () => {
    const args = sessionArgs(SESSION, ["chassis", "power", "status"]);
    assert.deepEqual(args.slice(0, 4), ["-I", "lanplus", "-C", "3"]);
    assert.ok(args.includes("-E"));
    assert.ok(!args.includes("-P"), "never -P (password on the command line)");
    assert.ok(!args.includes("-f"));
    assert.deepEqual(args.slice(-3), ["chassis", "power", "status"]);
  });
});

describe("ipmitool output parsing", () => {
  it("reads power on and off", () => {
    assert.equal(parsePowerStatus("Chassis Power is on\n"), "on");
    assert.equal(parsePowerStatus("Discovered IPMB address 0x0\nChassis Power is off\n"), "off");
    assert.equal(parsePowerStatus("garbage"), undefined);
  });

  const bootparam = (hex: string, selector: string, apply: string, valid: string): string =>
    [
      "Boot parameter version: 1",
      "Boot parameter 5 is valid/unlocked",
      `Boot parameter data: ${hex}`,
      " Boot Flags :",
      `   - ${valid}`,
      `   - ${apply}`,
      `   - Boot Device Selector : ${selector}`,
    ].join("\n");

  it("reads a one-time PXE boot device from the boot flags bytes", () => {
    const out = bootparam("0004000000", "Force PXE", "Options apply to only next boot", "Boot Flag Invalid");
    assert.deepEqual(parseBootParam(out), { device: "pxe", persistent: false, valid: false });
  });

  it("reads a persistent, valid disk boot device", () => {
    const out = bootparam(
      "c008000000",
      "Force Boot from default Hard-Drive",
      "Options apply to all future boots",
      "Boot Flag Valid",
    );
    assert.deepEqual(parseBootParam(out), { device: "disk", persistent: true, valid: true });
  });

  it("falls back to the readable lines when the data line is missing", () => {
    const out =
      "   - Boot Flag Valid\n   - Options apply to all future boots\n   - Boot Device Selector : Force PXE\n";
    assert.deepEqual(parseBootParam(out), { device: "pxe", persistent: true, valid: true });
  });

  it("reports devices zeroroot does not set by name rather than guessing", () => {
    assert.equal(parseBootParam("Boot parameter data: 0000000000")?.device, "none");
    assert.equal(parseBootParam("Boot parameter data: 0014000000")?.device, "cdrom");
    assert.equal(parseBootParam("Boot parameter data: 003c000000")?.device, "other");
    assert.equal(parseBootParam("nothing here"), undefined);
  });
});

describe("ipmitool failure classification", () => {
  const cases: [string, string][] = [
    ["> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session", "auth"],
    [
      "RAKP 2 message indicates an error : unauthorized name\nError: Unable to establish IPMI v2 / RMCP+ session",
      "auth",
    ],
    [
      "Error in open session response message : invalid authentication algorithm\n\nError: Unable to establish IPMI v2 / RMCP+ session",
      "unsupported-cipher",
    ],
    [
      "Get Auth Capabilities error\nError issuing Get Channel Authentication Capabilities request\nError: Unable to establish IPMI v2 / RMCP+ session",
      "unreachable",
    ],
    ["Address lookup for bmc.invalid failed", "unreachable"],
    ["Error: Unable to establish IPMI v2 / RMCP+ session", "session"],
    ["Insufficient resources for session", "session"],
    ["lanplus: password is longer than 20 bytes.", "config"],
    ["Set Chassis Power Control to Cycle failed: Command not supported in present state", "command"],
  ];
  for (const [output, reason] of cases) {
    it(`classifies ${JSON.stringify(output.split("\n")[0])} as ${reason}`, () =>
      assert.equal(classifyFailure(output), reason));
  }

  it("picks the specific line over the generic session line as the detail", () => {
    assert.equal(
      failureDetail(
        "Loading IANA PEN Registry...\n> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session\n",
      ),
      "RAKP 2 HMAC is invalid",
    );
  });
});

describe("retry back-off", () => {
  it("doubles up to the cap, with at most 20% jitter below", () => {
    assert.equal(
      backoffDelay(DEFAULT_RETRY, 1, () => 1),
      250,
    );
    assert.equal(
      backoffDelay(DEFAULT_RETRY, 3, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(DEFAULT_RETRY, 10, () => 1),
      4000,
    );
    assert.equal(
      backoffDelay(DEFAULT_RETRY, 1, () => 0),
      200,
    );
  });
});
