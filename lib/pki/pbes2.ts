/**
 * PKCS#8 key encryption with a chosen work factor: PBES2 (RFC 8018) with PBKDF2-HMAC-SHA256 and
 * AES-256-CBC, what OpenSSL 3, libpq, Java 17 and node read. node:crypto writes the same scheme but with
 * OpenSSL's fixed 2,048 iterations, far below what a stolen ceremony disk or keystore deserves, so the
 * structure is encoded here (asn1js) around node's PBKDF2 and cipher. Decryption stays node's.
 */
import * as crypto from "node:crypto";
import * as asn1js from "asn1js";
import { PkiError } from "./errors";

const PBES2 = "1.2.840.113549.1.5.13";
const PBKDF2 = "1.2.840.113549.1.5.12";
const HMAC_SHA256 = "1.2.840.113549.2.9";
const AES_256_CBC = "2.16.840.1.101.3.4.1.42";
/** Bounds on a caller's work factor: below is no protection, above is a denial of service on the reader. */
const MIN_ITERATIONS = 10_000;
const MAX_ITERATIONS = 10_000_000;

const oid = (value: string) => new asn1js.ObjectIdentifier({ value });
const seq = (...value: asn1js.AsnType[]) => new asn1js.Sequence({ value });
const octets = (b: Buffer) => new asn1js.OctetString({ valueHex: new Uint8Array(b) });

/** EncryptedPrivateKeyInfo (DER) of `key` under `passphrase`, with `iterations` of PBKDF2. */
export function encryptPrivateKey(key: crypto.KeyObject, passphrase: string, iterations: number): Buffer {
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS)
    throw new PkiError(
      "bad-input",
      `PBKDF2 iterations ${String(iterations)} are not allowed; allowed: a whole number from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`,
    );
  const plain = key.export({ type: "pkcs8", format: "der" });
  const salt = crypto.randomBytes(16);
  const iv = crypto.randomBytes(16);
  const derived = crypto.pbkdf2Sync(Buffer.from(passphrase, "utf8"), salt, iterations, 32, "sha256");
  const cipher = crypto.createCipheriv("aes-256-cbc", derived, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  plain.fill(0);
  derived.fill(0);
  const algorithm = seq(
    oid(PBES2),
    seq(
      seq(
        oid(PBKDF2),
        seq(
          octets(salt),
          new asn1js.Integer({ value: iterations }),
          seq(oid(HMAC_SHA256), new asn1js.Null()),
        ),
      ),
      seq(oid(AES_256_CBC), octets(iv)),
    ),
  );
  return Buffer.from(seq(algorithm, octets(encrypted)).toBER());
}
