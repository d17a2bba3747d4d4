/**
 * Key pairs: generated with node:crypto (native, fast), classified so that profiles can refuse weak
 * keys, and exported as PKCS#8 (PEM or DER, encrypted or not) for PostgreSQL and Java clients.
 */
import * as crypto from "node:crypto";
import { toPem } from "./asn";
import { PkiError } from "./errors";
import { encryptPrivateKey } from "./pbes2";

export type KeyKind = "ec-p256" | "ec-p384" | "rsa-3072" | "rsa-4096";
export const KEY_KINDS: readonly KeyKind[] = ["ec-p256", "ec-p384", "rsa-3072", "rsa-4096"];

export interface KeyPair {
  readonly privateKey: crypto.KeyObject;
  readonly publicKey: crypto.KeyObject;
}

/** Generates a key pair where it will be used; the private key should never leave this process' host. */
export function generateKeyPair(kind: KeyKind = "ec-p256"): KeyPair {
  switch (kind) {
    case "ec-p256":
      return crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    case "ec-p384":
      return crypto.generateKeyPairSync("ec", { namedCurve: "P-384" });
    case "rsa-3072":
      return crypto.generateKeyPairSync("rsa", { modulusLength: 3072 });
    case "rsa-4096":
      return crypto.generateKeyPairSync("rsa", { modulusLength: 4096 });
    default:
      throw new PkiError(
        "bad-input",
        `key kind "${String(kind)}" is unknown; allowed: ${KEY_KINDS.join(", ")}`,
      );
  }
}

/**
 * Classifies a key, refusing anything weaker than the hierarchy allows: RSA below 3072 bits, curves
 * other than P-256/P-384, and other algorithms. RSA sizes above 4096 count as rsa-4096.
 */
export function keyKindOf(key: crypto.KeyObject): KeyKind {
  const type = key.asymmetricKeyType;
  const details = detailsOf(key);
  if (type === "ec") {
    if (details.namedCurve === "prime256v1") return "ec-p256";
    if (details.namedCurve === "secp384r1") return "ec-p384";
    throw new PkiError(
      "weak-key",
      `EC key on curve ${details.namedCurve ?? "?"} is not allowed; use P-256 or P-384`,
    );
  }
  if (type === "rsa") {
    const bits = details.modulusLength ?? 0;
    if (bits < 3072) {
      throw new PkiError(
        "weak-key",
        `RSA key of ${bits} bits is too weak; at least 3072 bits are required (or use ECDSA P-256)`,
      );
    }
    return bits >= 4096 ? "rsa-4096" : "rsa-3072";
  }
  throw new PkiError(
    "weak-key",
    `key type ${type ?? "?"} is not allowed; use ECDSA P-256, P-384 or RSA >= 3072`,
  );
}

/**
 * asymmetricKeyDetails, safely. Node 20 aborts the whole process (a failed assertion in GetEcKeyDetail)
 * when asked for the details of an EC public key at the point at infinity, which createPublicKey accepts
 * from an SPKI whose point is the single byte 00 (found by test/fuzz); re-encoding such a key throws
 * instead, so a public EC key is re-encoded first.
 */
function detailsOf(key: crypto.KeyObject): crypto.AsymmetricKeyDetails {
  if (key.asymmetricKeyType === "ec" && key.type === "public") {
    try {
      key.export({ type: "spki", format: "der" });
    } catch {
      throw new PkiError(
        "weak-key",
        "the EC public key is not a point of its curve; use a valid P-256 or P-384 key",
      );
    }
  }
  return key.asymmetricKeyDetails ?? {};
}

/** The hash a key signs with: P-384 pairs with SHA-384, everything else with SHA-256. */
export function hashFor(key: crypto.KeyObject): "sha256" | "sha384" {
  return key.asymmetricKeyType === "ec" && detailsOf(key).namedCurve === "secp384r1" ? "sha384" : "sha256";
}

/** OID of the signature algorithm a key produces (ecdsa-with-SHA256/384, sha256WithRSAEncryption). */
export function signatureOidFor(key: crypto.KeyObject): string {
  if (key.asymmetricKeyType === "rsa") return "1.2.840.113549.1.1.11";
  return hashFor(key) === "sha384" ? "1.2.840.10045.4.3.3" : "1.2.840.10045.4.3.2";
}

/**
 * PBKDF2-HMAC-SHA256 iterations for a PKCS#8 key encrypted with a passphrase (ceremony CA keys,
 * `pki export --format pkcs8 --encrypt`): OWASP's 2023 figure for this PRF. It costs about 0.2 s on
 * each load (ceremony commands, a client reading its key), and that much per guess to an attacker.
 */
export const PKCS8_KDF_ITERATIONS = 600_000;

export interface Pkcs8Options {
  readonly format?: "pem" | "der";
  /** When set, the key is encrypted (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC), which JDBC and libpq read. */
  readonly passphrase?: string;
  /** PBKDF2 iterations when encrypting. @default PKCS8_KDF_ITERATIONS */
  readonly iterations?: number;
}

/** PKCS#8 export; PostgreSQL's `sslkey` and Java's PKCS8EncodedKeySpec both want this, not SEC1/PKCS#1. */
export function exportPkcs8(key: crypto.KeyObject, opts: Pkcs8Options = {}): Buffer {
  const format = opts.format ?? "pem";
  if (opts.passphrase === undefined) {
    const out = key.export({ type: "pkcs8", format } as crypto.KeyExportOptions<"pem">);
    return typeof out === "string" ? Buffer.from(out) : out;
  }
  const der = encryptPrivateKey(key, opts.passphrase, opts.iterations ?? PKCS8_KDF_ITERATIONS);
  return format === "der" ? der : Buffer.from(toPem(der, "ENCRYPTED PRIVATE KEY"));
}

/** Loads a private key from PEM or DER (PKCS#8, SEC1 or PKCS#1), encrypted or not. */
export function loadPrivateKey(data: string | Buffer, passphrase?: string): crypto.KeyObject {
  const text = typeof data === "string" ? data : data.toString("latin1");
  const isPem = text.includes("-----BEGIN");
  const encrypted = /ENCRYPTED/.test(text) || (!isPem && passphrase !== undefined);
  if (encrypted && passphrase === undefined) {
    throw new PkiError("wrong-passphrase", "the private key is encrypted and no passphrase was given");
  }
  try {
    if (isPem) return crypto.createPrivateKey({ key: text, format: "pem", passphrase });
    return crypto.createPrivateKey({ key: Buffer.from(data), format: "der", type: "pkcs8", passphrase });
  } catch (err) {
    if (encrypted)
      throw new PkiError(
        "wrong-passphrase",
        "the passphrase does not decrypt the private key (wrong passphrase?)",
      );
    throw new PkiError("bad-input", `cannot read the private key: ${(err as Error).message}`);
  }
}
