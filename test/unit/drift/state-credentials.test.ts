/**
 * The managed BMC logins `zeroroot drift --state` reads from a `pulumi stack export` document:
 * plain (`--show-secrets`) or encrypted with the stack's passphrase; every unusable document is an
 * error naming the resource and the fix, never the secret. And the probe's TLS-upgrade packets.
 */
import { strict as assert } from "node:assert";
import { PassphraseCrypter } from "../../../lab/pulumi-passphrase";
import {
  StateCredentialError,
  bmcLoginsFromPulumiExport,
  isPulumiExport,
} from "../../../lib/drift/state-credentials";
import {
  isMysqlGreeting,
  mysqlGreetingCapabilities,
  mysqlSslRequest,
} from "../../../lib/drift/observe/starttls";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";
const URN = "urn:pulumi:dc1::zeroroot::zeroroot:fleet:BmcCredential::dc1-s01-bmc-credential";
const crypter = PassphraseCrypter.create("correct horse");

const exportOf = (password: unknown, extra: Record<string, unknown> = {}) => ({
  version: 3,
  deployment: {
    resources: [
      { urn: "urn:pulumi:dc1::zeroroot::pulumi:pulumi:Stack::zeroroot-dc1", type: "pulumi:pulumi:Stack" },
      {
        urn: URN,
        type: "zeroroot:fleet:BmcCredential",
        inputs: { serverId: "dc1-s01", password, ...extra },
        outputs: { username: "zeroroot-b" },
      },
    ],
  },
});
const plain = (v: string) => ({ [SIG]: SECRET, plaintext: JSON.stringify(v) });
const sealed = (v: string) => ({ [SIG]: SECRET, ciphertext: crypter.encrypt(JSON.stringify(v)) });

describe("drift --state: BMC logins from a `pulumi stack export` document", () => {
  it("reads the managed user (an output) and password (a secret input, as state from before stores it) with --show-secrets", () => {
    const logins = bmcLoginsFromPulumiExport(exportOf(plain("s3cret-1")));
    assert.deepEqual([...logins], [["dc1-s01", { username: "zeroroot-b", password: "s3cret-1" }]]);
  });

  it("reads the password as the plugin now stores it: a secret output beside the user", () => {
    const doc = exportOf(undefined);
    const cred = doc.deployment.resources[1] as { inputs: Record<string, unknown>; outputs: object };
    delete cred.inputs.password;
    cred.outputs = { username: "zeroroot-a", password: sealed("s3cret-3") };
    const logins = bmcLoginsFromPulumiExport(doc, (c) => crypter.decrypt(c));
    assert.deepEqual([...logins], [["dc1-s01", { username: "zeroroot-a", password: "s3cret-3" }]]);
  });

  it("opens an encrypted password with the stack's passphrase", () => {
    const logins = bmcLoginsFromPulumiExport(exportOf(sealed("s3cret-2")), (c) => crypter.decrypt(c));
    assert.equal(logins.get("dc1-s01")?.password, "s3cret-2");
  });

  it("knows an export from the lab runner's state", () => {
    assert.equal(isPulumiExport(exportOf("x")), true);
    assert.equal(isPulumiExport({ version: 2, resources: {} }), false);
  });

  const wrong = PassphraseCrypter.create("wrong passphrase");
  const bad: [string, unknown, ((c: string) => string) | undefined, RegExp][] = [
    [
      "an encrypted secret and no passphrase",
      exportOf(sealed("s3cret")),
      undefined,
      /is encrypted; give the stack's passphrase \(PULUMI_CONFIG_PASSPHRASE_FILE\)/,
    ],
    [
      "a passphrase that does not open it",
      exportOf(sealed("s3cret")),
      (c) => wrong.decrypt(c),
      /does not decrypt with the stack's passphrase/,
    ],
    [
      "a secret with neither plaintext nor ciphertext",
      exportOf({ [SIG]: SECRET }),
      undefined,
      /neither plaintext nor ciphertext/,
    ],
    [
      "a secret that is not JSON once opened",
      exportOf({ [SIG]: SECRET, plaintext: "{not json" }),
      undefined,
      /not a JSON value once opened/,
    ],
    [
      "a credential without its password",
      exportOf(undefined),
      undefined,
      /records no username and password \(outputs\)/,
    ],
    ["not an export at all", { resources: [] }, undefined, /not a `pulumi stack export` document/],
  ];
  for (const [name, doc, decrypt, message] of bad)
    it(`refuses ${name}, naming the resource and never the secret`, () => {
      assert.throws(
        () => bmcLoginsFromPulumiExport(doc, decrypt),
        (e: unknown) =>
          e instanceof StateCredentialError && message.test(e.message) && !/s3cret/.test(e.message),
      );
    });
});

describe("drift probes: the TLS upgrade of MySQL/MariaDB", () => {
  /** A protocol-10 greeting as MariaDB sends it, with the given capability flags. */
  const greeting = (caps: number) => {
    const body = Buffer.concat([
      Buffer.from([0x0a]),
      Buffer.from("10.11.6-MariaDB\0", "latin1"),
      Buffer.from([1, 0, 0, 0]), // thread id
      Buffer.alloc(8, 0x41), // auth data part 1
      Buffer.from([0]), // filler
      Buffer.from([caps & 0xff, caps >> 8]),
    ]);
    return Buffer.concat([Buffer.from([body.length, 0, 0, 0]), body]);
  };

  it("recognises a greeting and reads whether it offers TLS (CLIENT_SSL)", () => {
    assert.equal(isMysqlGreeting(greeting(0xffff)), true);
    assert.equal(isMysqlGreeting(Buffer.from("SSH-2.0-OpenSSH_9.2\r\n")), false);
    assert.equal(
      isMysqlGreeting(Buffer.from([0x16, 3, 1, 0, 0x0a])),
      false,
      "a TLS record is not a greeting",
    );
    assert.equal(mysqlGreetingCapabilities(greeting(0xffff))! & 0x0800, 0x0800);
    assert.equal(mysqlGreetingCapabilities(greeting(0xffff & ~0x0800))! & 0x0800, 0);
    assert.equal(mysqlGreetingCapabilities(greeting(0xffff).subarray(0, 20)), undefined, "cut short");
  });

  it("asks for TLS with a 32-byte SSLRequest (sequence 1) that carries no user and no credential", () => {
    const p = mysqlSslRequest();
    assert.equal(p.length, 36);
    assert.deepEqual([...p.subarray(0, 4)], [32, 0, 0, 1]);
    assert.equal(p.readUInt32LE(4) & 0x0800, 0x0800, "CLIENT_SSL");
    assert.ok(
      p.subarray(13).every((b) => b === 0),
      "23 zero bytes: nothing else is sent",
    );
  });
});
