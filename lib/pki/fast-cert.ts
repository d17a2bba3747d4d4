/**
 * Fast path of leaf certificate encoding. Per CA and leaf profile (and RSA-or-not, which changes
 * keyUsage), the constant parts of the TBSCertificate are encoded once by the @peculiar schemas —
 * version, signature algorithm, issuer, basicConstraints, keyUsage, the SKI extension's header, AKI and
 * EKU — and each issuance only splices in the variable fields (serial, validity, subject, SPKI, SKI,
 * SAN) with a small TLV writer. The output is byte-identical to the schema path (test/unit/pki/
 * fast-path.test.ts); inputs outside what this writer handles (times from 2050, lone UTF-16
 * surrogates) return undefined and the schema path encodes them.
 */
import * as crypto from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as x from "@peculiar/asn1-x509";
import { ipToBytes, tlv } from "./fast-der";

export interface LeafTemplate {
  readonly hash: string;
  readonly signatureAlgorithm: Buffer;
  /** version, serial header (02 10) precede the serial; this is what follows it up to validity. */
  readonly algorithmAndIssuer: Buffer;
  /** basicConstraints and keyUsage, then the SKI extension without its 20-byte key identifier. */
  readonly beforeKeyId: Buffer;
  /** AKI and (if any) EKU. */
  readonly afterKeyId: Buffer;
}

/** The pieces a template is made of, as the schema path encodes them. */
export interface TemplateSource {
  readonly hash: string;
  readonly signatureAlgorithm: x.AlgorithmIdentifier;
  readonly issuerDer: Buffer;
  /** basicConstraints, keyUsage, SKI (of a placeholder key id), AKI, then optionally EKU. */
  readonly extensions: readonly x.Extension[];
  readonly placeholderKeyId: Buffer;
}

export interface LeafFields {
  readonly serial: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly commonName: string;
  readonly organization?: string;
  readonly spkiDer: Buffer;
  readonly subjectKeyId: Buffer;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly uris: readonly string[];
}

const VERSION_3 = Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]);
const SAN_OID = Buffer.from("0603551d11", "hex");
const CN_OID = Buffer.from("0603550403", "hex");
const O_OID = Buffer.from("060355040a", "hex");
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function makeTemplate(src: TemplateSource): LeafTemplate {
  const exts = src.extensions.map((e) => Buffer.from(AsnConvert.serialize(e)));
  const ski = exts[2];
  if (src.placeholderKeyId.length !== 20 || !ski.subarray(ski.length - 20).equals(src.placeholderKeyId))
    throw new Error("leaf template: the SKI extension does not end with its key identifier");
  const signatureAlgorithm = Buffer.from(AsnConvert.serialize(src.signatureAlgorithm));
  return {
    hash: src.hash,
    signatureAlgorithm,
    algorithmAndIssuer: Buffer.concat([signatureAlgorithm, src.issuerDer]),
    beforeKeyId: Buffer.concat([exts[0], exts[1], ski.subarray(0, ski.length - 20)]),
    afterKeyId: Buffer.concat(exts.slice(3)),
  };
}

/** The TBSCertificate DER, or undefined when a field needs the schema path. */
export function encodeLeafTbs(t: LeafTemplate, f: LeafFields): Buffer | undefined {
  const notBefore = utcTime(f.notBefore);
  const notAfter = utcTime(f.notAfter);
  if (!notBefore || !notAfter || f.serial.length !== 16 || f.serial[0] & 0x80) return undefined;
  if (LONE_SURROGATE.test(f.commonName) || (f.organization && LONE_SURROGATE.test(f.organization)))
    return undefined;
  const rdn = (oid: Buffer, value: string) =>
    tlv(0x31, tlv(0x30, oid, tlv(0x0c, Buffer.from(value, "utf8"))));
  const subject = f.organization
    ? tlv(0x30, rdn(O_OID, f.organization), rdn(CN_OID, f.commonName))
    : tlv(0x30, rdn(CN_OID, f.commonName));
  const extensions = [t.beforeKeyId, f.subjectKeyId, t.afterKeyId];
  if (f.dnsNames.length + f.ipAddresses.length + f.uris.length) {
    const names = [
      ...f.dnsNames.map((n) => tlv(0x82, Buffer.from(n, "latin1"))),
      ...f.ipAddresses.map((ip) => tlv(0x87, ipToBytes(ip))),
      ...f.uris.map((u) => tlv(0x86, Buffer.from(u, "latin1"))),
    ];
    extensions.push(tlv(0x30, SAN_OID, tlv(0x04, tlv(0x30, ...names))));
  }
  return tlv(
    0x30,
    VERSION_3,
    tlv(0x02, f.serial),
    t.algorithmAndIssuer,
    tlv(0x30, notBefore, notAfter),
    subject,
    f.spkiDer,
    tlv(0xa3, tlv(0x30, ...extensions)),
  );
}

/** Signs a TBSCertificate and wraps it as a Certificate. */
export function signLeaf(t: LeafTemplate, tbs: Buffer, key: crypto.KeyObject): Buffer {
  const signature = crypto.sign(t.hash, tbs, key);
  return tlv(0x30, tbs, t.signatureAlgorithm, tlv(0x03, Buffer.from([0]), signature));
}

/** UTCTime (YYMMDDHHMMSSZ, seconds truncated) for 1950-2049, the years the schema encodes as UTCTime. */
function utcTime(d: Date): Buffer | undefined {
  const y = d.getUTCFullYear();
  if (!(y >= 1950 && y <= 2049)) return undefined;
  const p = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  const s = `${p(y % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, "latin1"));
}
