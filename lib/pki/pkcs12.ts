/**
 * PKCS#12 keystores (key + certificate chain) and truststores (trusted certificates only) for Java
 * and PostgreSQL clients. The ASN.1 structures come from @peculiar/asn1-pfx; the key is encrypted with
 * PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC (pbes2.ts; what Java 17 and OpenSSL 3 write by default, with
 * more iterations);
 * node-forge supplies the PKCS#12 MAC key derivation (RFC 7292 appendix B), which node lacks.
 */
import * as crypto from "node:crypto";
import * as asn1js from "asn1js";
import type * as Forge from "node-forge";

/** node-forge, loaded at the first PKCS#12 file: it is ~10 MB of a process's memory, and most
 * processes that import lib/pki (the node agent) never make one. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadForge = (): typeof Forge => require("node-forge") as typeof Forge;
import { ContentInfo, id_data } from "@peculiar/asn1-cms";
import {
  AuthenticatedSafe,
  CertBag,
  MacData,
  PFX,
  PKCS12Attribute,
  SafeBag,
  SafeContents,
  id_x509Certificate,
} from "@peculiar/asn1-pfx";
import { DigestInfo } from "@peculiar/asn1-rsa";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, DirectoryString } from "@peculiar/asn1-x509";
import { fromPemAll, toAb } from "./asn";
import { parseCertificate } from "./cert";
import { PkiError } from "./errors";
import { escapeForMessage } from "./identity";
import { encryptPrivateKey } from "./pbes2";

const BAG_SHROUDED_KEY = "1.2.840.113549.1.12.10.1.2";
const BAG_CERT = "1.2.840.113549.1.12.10.1.3";
const ATTR_FRIENDLY_NAME = "1.2.840.113549.1.9.20";
const ATTR_LOCAL_KEY_ID = "1.2.840.113549.1.9.21";
/** Oracle's "trusted key usage" bag attribute: without it Java's PKCS12KeyStore ignores a lone certificate. */
const ATTR_ORACLE_TRUSTED_KEY_USAGE = "2.16.840.1.113894.746875.1.1";
const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";
const SHA256 = "2.16.840.1.101.3.4.2.1";
/**
 * Iterations of both the key's PBKDF2 and the integrity MAC's key derivation. Both: a weaker MAC would
 * be the cheaper oracle for guessing the password. The MAC's derivation (RFC 7292 B.2) has no native
 * implementation in node, so its cost bounds this figure; measurements in docs/pki.md (creation about
 * 1 s, `keytool -list` +0.9 s over Java's default 10,000, `openssl pkcs12` 0.2-0.4 s, on a loaded
 * 2-core machine). OpenSSL 3.0 writes 2,048.
 */
export const PKCS12_KDF_ITERATIONS = 200_000;

export interface KeystoreArgs {
  readonly privateKey: crypto.KeyObject;
  /** Leaf certificate, then its issuers (PEM bundle or list). */
  readonly chainPem: string | readonly string[];
  readonly password: string;
  /** @default "zeroroot" */
  readonly alias?: string;
  /** @default PKCS12_KDF_ITERATIONS */
  readonly iterations?: number;
}

export interface TruststoreArgs {
  readonly certificatesPem: string | readonly string[];
  readonly password: string;
  /** One alias per certificate. @default - "ca-0", "ca-1", ... */
  readonly aliases?: readonly string[];
  /** @default PKCS12_KDF_ITERATIONS */
  readonly iterations?: number;
}

/** A PKCS#12 keystore: one private key entry with its certificate chain. */
export function createKeystore(args: KeystoreArgs): Buffer {
  const certs = certsOf(args.chainPem);
  if (certs.length === 0)
    throw new PkiError("bad-input", "a keystore needs at least the certificate of the key");
  checkKeyMatches(args.privateKey, certs[0]);
  const iterations = args.iterations ?? PKCS12_KDF_ITERATIONS;
  const alias = args.alias ?? "zeroroot";
  const localKeyId = crypto.createHash("sha1").update(certs[0]).digest();
  const idAttrs = [
    attr(ATTR_FRIENDLY_NAME, bmp(alias)),
    attr(ATTR_LOCAL_KEY_ID, AsnConvert.serialize(new OctetString(localKeyId))),
  ];
  const keyBag = new SafeBag({
    bagId: BAG_SHROUDED_KEY,
    bagValue: toAb(encryptPrivateKey(args.privateKey, args.password, iterations)),
    bagAttributes: idAttrs,
  });
  const certBags = certs.map((der, i) => certBag(der, i === 0 ? idAttrs : undefined));
  return pfx([new SafeContents(certBags), new SafeContents([keyBag])], args.password, iterations);
}

/** A keystore whose key is not the certificate's would fail at the first handshake, far from here. */
function checkKeyMatches(key: crypto.KeyObject, certDer: Buffer): void {
  const cert = parseCertificate(certDer);
  const spki = crypto.createPublicKey(key).export({ type: "spki", format: "der" });
  if (!spki.equals(cert.spkiDer))
    throw new PkiError(
      "bad-input",
      `the private key does not belong to the certificate "${escapeForMessage(cert.commonName)}" (the first of the chain): their public keys differ; give the key whose CSR this certificate was issued from`,
    );
}

/** A PKCS#12 truststore that `keytool -list` shows as trustedCertEntry, one per certificate. */
export function createTruststore(args: TruststoreArgs): Buffer {
  const certs = certsOf(args.certificatesPem);
  if (certs.length === 0) throw new PkiError("bad-input", "a truststore needs at least one certificate");
  const trusted = attr(
    ATTR_ORACLE_TRUSTED_KEY_USAGE,
    new asn1js.ObjectIdentifier({ value: ANY_EXTENDED_KEY_USAGE }).toBER(),
  );
  const bags = certs.map((der, i) =>
    certBag(der, [attr(ATTR_FRIENDLY_NAME, bmp(args.aliases?.[i] ?? `ca-${i}`)), trusted]),
  );
  return pfx([new SafeContents(bags)], args.password, args.iterations ?? PKCS12_KDF_ITERATIONS);
}

function certsOf(pem: string | readonly string[]): Buffer[] {
  return (typeof pem === "string" ? [pem] : pem).flatMap((p) => fromPemAll(p, "CERTIFICATE"));
}

function attr(attrId: string, value: ArrayBuffer): PKCS12Attribute {
  // PKCS12Attribute's constructor (asn1-pfx 2.x) drops its params, so assign the fields explicitly.
  return Object.assign(new PKCS12Attribute(), { attrId, attrValues: [value] });
}

function bmp(text: string): ArrayBuffer {
  return AsnConvert.serialize(new DirectoryString({ bmpString: text }));
}

function certBag(der: Buffer, attributes?: PKCS12Attribute[]): SafeBag {
  const bag = new CertBag({
    certId: id_x509Certificate,
    certValue: AsnConvert.serialize(new OctetString(der)),
  });
  return new SafeBag({ bagId: BAG_CERT, bagValue: AsnConvert.serialize(bag), bagAttributes: attributes });
}

/**
 * Wraps SafeContents as plain `data` content (certificates are public; the key inside is already
 * encrypted) and adds an HMAC-SHA256 integrity MAC keyed from the password.
 */
function pfx(safes: SafeContents[], password: string, iterations: number): Buffer {
  const dataInfo = (der: ArrayBuffer) =>
    new ContentInfo({ contentType: id_data, content: AsnConvert.serialize(new OctetString(der)) });
  const authSafe = AsnConvert.serialize(
    new AuthenticatedSafe(safes.map((s) => dataInfo(AsnConvert.serialize(s)))),
  );
  const salt = crypto.randomBytes(16);
  const forge = loadForge();
  const key = forge.pkcs12.generateKey(
    password,
    forge.util.createBuffer(salt.toString("binary")),
    3,
    iterations,
    32,
    forge.md.sha256.create(),
  );
  const mac = crypto
    .createHmac("sha256", Buffer.from(key.getBytes(), "binary"))
    .update(Buffer.from(authSafe))
    .digest();
  const macData = new MacData({
    mac: new DigestInfo({
      digestAlgorithm: new AlgorithmIdentifier({ algorithm: SHA256, parameters: null }),
      digest: new OctetString(mac),
    }),
    macSalt: new OctetString(salt),
    iterations,
  });
  return Buffer.from(AsnConvert.serialize(new PFX({ version: 3, authSafe: dataInfo(authSafe), macData })));
}
