/**
 * The lab runner's stand-in for the random provider's RandomPassword: passwords shaped by the
 * inputs, from the CSPRNG, kept in the runner's state file (encrypted) and made again only when an
 * input changes.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment } from "../../../lab/orchestrate/deployment";
import { generatePassword, sameRandomInputs } from "../../../lab/orchestrate/random-password";
import { PassphraseCrypter } from "../../../lab/pulumi-passphrase";

const URN =
  "urn:pulumi:dc1::zeroroot::random:index/randomPassword:RandomPassword::dc1-s01-bmc-credential-password";
const INPUTS = {
  length: 16,
  special: false,
  upper: true,
  lower: true,
  numeric: true,
  keepers: { period: "2026-Q4", generation: "0" },
};
const resultOf = (outs: Record<string, unknown>) => (outs.result as { value: string }).value;

describe("lab stand-in for RandomPassword", () => {
  it("honours length and character classes", () => {
    for (let i = 0; i < 50; i++) assert.match(generatePassword(INPUTS), /^[A-Za-z0-9]{16}$/);
    assert.match(generatePassword({ length: 24, upper: false, lower: false, special: false }), /^[0-9]{24}$/);
    assert.match(
      generatePassword({ length: 12, upper: false, lower: false, numeric: false, overrideSpecial: "-_" }),
      /^[-_]{12}$/,
    );
  });

  it("honours the minimum counts of each class", () => {
    for (let i = 0; i < 50; i++) {
      const pw = generatePassword({ length: 4, minUpper: 1, minLower: 1, minNumeric: 1, minSpecial: 1 });
      assert.match(pw, /[A-Z]/);
      assert.match(pw, /[a-z]/);
      assert.match(pw, /[0-9]/);
      assert.match(pw, /[^A-Za-z0-9]/);
    }
  });

  it("does not repeat itself (CSPRNG, ~95 bits at 16 characters)", () => {
    const seen = new Set(Array.from({ length: 200 }, () => generatePassword(INPUTS)));
    assert.equal(seen.size, 200);
  });

  const refused: [string, Record<string, unknown>, RegExp][] = [
    ["no length", { special: false }, /length is undefined; give a whole number in 1\.\.1024/],
    ["a huge length", { length: 1e9 }, /length is 1000000000/],
    [
      "every class off",
      { length: 8, upper: false, lower: false, numeric: false, special: false },
      /enable one/,
    ],
    ["minimums above the length", { length: 2, minUpper: 2, minLower: 1 }, /add up to 3, more than length 2/],
  ];
  for (const [what, inputs, expected] of refused)
    it(`refuses ${what}`, () => assert.throws(() => generatePassword(inputs), expected));

  it("compares inputs as the provider does: keepers included, key order ignored", () => {
    assert.ok(sameRandomInputs(INPUTS, { ...INPUTS, keepers: { generation: "0", period: "2026-Q4" } }));
    assert.ok(!sameRandomInputs(INPUTS, { ...INPUTS, keepers: { period: "2027-Q1", generation: "0" } }));
    assert.ok(!sameRandomInputs(INPUTS, { ...INPUTS, length: 20 }));
  });

  describe("kept in the runner's state", () => {
    let dir: string;
    const crypter = PassphraseCrypter.create("lab passphrase for the test");
    const deployment = () => new Deployment({ statePath: join(dir, "dc1.json"), crypter });
    before(() => (dir = mkdtempSync(join(tmpdir(), "zr-random-"))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("keeps the result across runs, encrypted in the state file, until a keeper changes", () => {
      const first = deployment().registerRandomPassword(URN, INPUTS);
      assert.equal(first.outcome, "created");
      const pw = resultOf(first.outs);
      assert.ok(
        !readFileSync(join(dir, "dc1.json"), "utf8").includes(pw),
        "the state file holds no plain password",
      );
      const again = deployment().registerRandomPassword(URN, { ...INPUTS });
      assert.equal(again.outcome, "unchanged");
      assert.equal(resultOf(again.outs), pw);
      const next = deployment().registerRandomPassword(URN, {
        ...INPUTS,
        keepers: { period: "2026-Q4", generation: "1" },
      });
      assert.equal(next.outcome, "replaced");
      assert.notEqual(resultOf(next.outs), pw);
    });

    it("refuses to make one without a passphrase to keep it encrypted", () => {
      const d = new Deployment({ statePath: join(dir, "plain.json") });
      assert.throws(() => d.registerRandomPassword(URN, INPUTS), /keeps its result only encrypted/);
    });
  });
});
