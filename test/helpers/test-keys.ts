/**
 * RSA key pairs for tests, read from test-keys.json instead of generated: an RSA key takes 0.3–3 s
 * of CPU to generate (a random prime search), which was a sixth of the unit tier. The file holds
 * TEST-ONLY keys, one per (size, label) listed in TEST_RSA_KEYS, made by
 * `npx tsx test/helpers/make-test-keys.ts`; they sign nothing but test certificates and CSRs and
 * must never be trusted anywhere. EC keys take microseconds: tests make their own.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { generateKeyPair, type KeyKind, type KeyPair } from "../../lib/pki";

export const TEST_KEYS_FILE = path.join(__dirname, "test-keys.json");

export type RsaBits = 2048 | 3072 | 4096;

/** Every test-only RSA key: its size and the labels that name distinct keys of that size. */
export const TEST_RSA_KEYS: Readonly<Record<RsaBits, readonly string[]>> = {
  // rules/fixtures.ts signer certificates; hostile/pki-issuance.ts's key that is too weak.
  2048: ["admin-alice", "mallory", "web", "admin-old", "weak"],
  // pki/fast-path.test.ts: an issuing CA and a leaf of each size.
  3072: ["issuing-ca", "leaf"],
  4096: ["leaf"],
};

export interface TestKeysFile {
  readonly note: string;
  /** PKCS#8 PEM by `rsa-<bits>/<label>`. */
  readonly keys: Record<string, string>;
}

export const keyId = (bits: RsaBits, label: string) => `rsa-${bits}/${label}`;

let file: TestKeysFile | undefined;
const cache = new Map<string, KeyPair>();

/** The test-only RSA key of `bits` named `label`: the same key for the same label in every file. */
export function testRsaKeyPair(bits: RsaBits, label: string): KeyPair {
  const id = keyId(bits, label);
  let pair = cache.get(id);
  if (!pair) {
    file ??= JSON.parse(fs.readFileSync(TEST_KEYS_FILE, "utf8")) as TestKeysFile;
    const pem = file.keys[id];
    if (!TEST_RSA_KEYS[bits].includes(label) || !pem)
      throw new Error(
        `no test key ${id}: add "${label}" to TEST_RSA_KEYS[${bits}] in test/helpers/test-keys.ts and run \`npx tsx test/helpers/make-test-keys.ts\``,
      );
    const privateKey = crypto.createPrivateKey(pem);
    pair = { privateKey, publicKey: crypto.createPublicKey(privateKey) };
    cache.set(id, pair);
  }
  return pair;
}

/** A key pair of `kind` for a test: RSA from the test-only keys above, EC made fresh. */
export function testKeyPair(kind: KeyKind, label: string): KeyPair {
  if (kind === "rsa-3072") return testRsaKeyPair(3072, label);
  if (kind === "rsa-4096") return testRsaKeyPair(4096, label);
  return generateKeyPair(kind);
}

/**
 * PBKDF2 iterations for encrypted key fixtures (files a test reads, not what it checks): the lowest
 * lib/pki accepts, so that each read costs milliseconds rather than 0.1–0.3 s. The work factor is a
 * parameter written in the file, so reading takes the same code path; the product's default
 * (PKCS8_KDF_ITERATIONS) is asserted in test/unit/pki/cli-files.test.ts.
 */
export const FIXTURE_KDF_ITERATIONS = 10_000;
