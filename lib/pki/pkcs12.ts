/**
 * PKCS#12 keystores (key + certificate chain) and truststores (trusted certificates only) for Java
 * and PostgreSQL clients. The ASN.1 structures come from @peculiar/asn1-pfx; node:crypto encrypts the
 * key (PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC, what Java 17 and OpenSSL 3 write by default);
 * node-forge supplies the PKCS#12 MAC key derivation (RFC 7292 appendix B), which node lacks.
 */
import * as crypto from "node:crypto";
import * as asn1js from "asn1js";
import forge from "node-forge";
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
import { PkiError } from "./errors";

const BAG_SHROUDED_KEY = "1.2.840.113549.1.12.10.1.2";
const BAG_CERT = "1.2.840.113549.1.12.10.1.3";
const ATTR_FRIENDLY_NAME = "1.2.840.113549.1.9.20";
const ATTR_LOCAL_KEY_ID = "1.2.840.113549.1.9.21";
/** Oracle's "trusted key usage" bag attribute: without it Java's PKCS12KeyStore ignores a lone certificate. */
const ATTR_ORACLE_TRUSTED_KEY_USAGE = "2.16.840.1.113894.746875.1.1";
const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";
const SHA256 = "2.16.840.1.101.3.4.2.1";
const MAC_ITERATIONS = 10_000;

export interface KeystoreArgs {
  readonly privateKey: crypto.KeyObject;
  /** Leaf certificate, then its issuers (PEM bundle or list). */
  readonly chainPem: string | readonly string[];
  readonly password: string;
  /** @default "zeroroot" */
  readonly alias?: string;
}

export interface TruststoreArgs {
  readonly certificatesPem: string | readonly string[];
  readonly password: string;
  /** One alias per certificate. @default - "ca-0", "ca-1", ... */
  readonly aliases?: readonly string[];
}

/** A PKCS#12 keystore: one private key entry with its certificate chain. */
export function createKeystore(args: KeystoreArgs): Buffer {
  const certs = certsOf(args.chainPem);
  if (certs.length === 0)
    throw new PkiError("bad-input", "a keystore needs at least the certificate of the key");
  const alias = args.alias ?? "zeroroot";
  const localKeyId = crypto.createHash("sha1").update(certs[0]).digest();
  const idAttrs = [
    attr(ATTR_FRIENDLY_NAME, bmp(alias)),
    attr(ATTR_LOCAL_KEY_ID, AsnConvert.serialize(new OctetString(localKeyId))),
  ];
  const encryptedKey = args.privateKey.export({
    type: "pkcs8",
    format: "der",
    cipher: "aes-256-cbc",
    passphrase: args.password,
  });
  const keyBag = new SafeBag({
    bagId: BAG_SHROUDED_KEY,
    bagValue: toAb(encryptedKey),
    bagAttributes: idAttrs,
  });
  const certBags = certs.map((der, i) => certBag(der, i === 0 ? idAttrs : undefined));
  return pfx([new SafeContents(certBags), new SafeContents([keyBag])], args.password);
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
  return pfx([new SafeContents(bags)], args.password);
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
function pfx(safes: SafeContents[], password: string): Buffer {
  const dataInfo = (der: ArrayBuffer) =>
    new ContentInfo({ contentType: id_data, content: AsnConvert.serialize(new OctetString(der)) });
  const authSafe = AsnConvert.serialize(
    new AuthenticatedSafe(safes.map((s) => dataInfo(AsnConvert.serialize(s)))),
  );
  const salt = crypto.randomBytes(16);
  const key = forge.pkcs12.generateKey(
    password,
    forge.util.createBuffer(salt.toString("binary")),
    3,
    MAC_ITERATIONS,
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
    iterations: MAC_ITERATIONS,
  });
  return Buffer.from(AsnConvert.serialize(new PFX({ version: 3, authSafe: dataInfo(authSafe), macData })));
}
