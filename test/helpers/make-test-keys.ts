/**
 * Writes test/helpers/test-keys.json: fresh TEST-ONLY RSA keys, one per (size, label) of
 * TEST_RSA_KEYS. Run it when a label is added (`npx tsx test/helpers/make-test-keys.ts`); keys
 * already in the file are kept, so other tests' keys do not change.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { TEST_KEYS_FILE, TEST_RSA_KEYS, keyId, type RsaBits, type TestKeysFile } from "./test-keys";

const old: Record<string, string> = fs.existsSync(TEST_KEYS_FILE)
  ? (JSON.parse(fs.readFileSync(TEST_KEYS_FILE, "utf8")) as TestKeysFile).keys
  : {};
const keys: Record<string, string> = {};
for (const [bits, labels] of Object.entries(TEST_RSA_KEYS) as [string, readonly string[]][])
  for (const label of labels) {
    const id = keyId(Number(bits) as RsaBits, label);
    keys[id] =
      old[id] ??
      (crypto
        .generateKeyPairSync("rsa", { modulusLength: Number(bits) })
        .privateKey.export({ type: "pkcs8", format: "pem" }) as string);
  }
const out: TestKeysFile = {
  note: "TEST-ONLY RSA keys for the test suites (test/helpers/test-keys.ts); made by test/helpers/make-test-keys.ts. Never trust these keys.",
  keys,
};
fs.writeFileSync(TEST_KEYS_FILE, `${JSON.stringify(out, null, 2)}\n`);
console.log(`${TEST_KEYS_FILE}: ${Object.keys(keys).length} keys`);
