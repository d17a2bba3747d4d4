/**
 * Fast path of CSR parsing: a strict DER walk that finds the signed CertificationRequestInfo bytes,
 * the SubjectPublicKeyInfo, the signature and the requested CN / subjectAltName, for the shapes that
 * createCsr, openssl and the usual tools produce. Anything else (BER, unusual string types, other
 * GeneralName kinds, ...) returns undefined and parseCsr uses the @peculiar schema parser instead, so
 * the two paths never disagree: the fast path only accepts what the schema path reads identically.
 * test/fuzz/ holds the two paths to that on mutated CSRs (docs/testing.md).
 */
import * as crypto from "node:crypto";
import { decodeOid, ipToString, readAll, readTlv, tlvEquals, type Tlv } from "./fast-der";

export interface CsrParts {
  /** The signed bytes exactly as received. */
  readonly criDer: Buffer;
  readonly spkiDer: Buffer;
  readonly signatureOid: string;
  readonly signature: Buffer;
  readonly commonName: string | undefined;
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
}

const SEQ = 0x30;
const SET = 0x31;
const OID_TAG = 0x06;
const VERSION_0 = Buffer.from([0x02, 0x01, 0x00]);
const CN_OID = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]);
const EXTENSION_REQUEST_OID = Buffer.from("06092a864886f70d01090e", "hex");
const SAN_OID = Buffer.from("0603551d11", "hex");
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The parts of a DER CSR of a common shape, or undefined to let the schema parser decide. */
export function readCsrParts(der: Buffer): CsrParts | undefined {
  const outer = readTlv(der, 0, der.length);
  if (!outer || outer.tag !== SEQ || outer.end !== der.length) return undefined;
  if (!plainTypesOnly(der, outer.value, outer.end, 0)) return undefined;
  const top = readAll(der, outer.value, outer.end);
  if (!top || top.length !== 3) return undefined;
  const [cri, alg, sig] = top;
  if (cri.tag !== SEQ || alg.tag !== SEQ || sig.tag !== 0x03) return undefined;
  const criParts = readAll(der, cri.value, cri.end);
  if (!criParts || criParts.length !== 4) return undefined;
  const [version, subject, spki, attrs] = criParts;
  if (!tlvEquals(der, version, VERSION_0) || subject.tag !== SEQ || attrs.tag !== 0xa0) return undefined;
  if (!spkiShapeOk(der, spki)) return undefined;
  const algParts = readAll(der, alg.value, alg.end);
  if (!algParts || algParts.length < 1 || algParts.length > 2 || algParts[0].tag !== OID_TAG)
    return undefined;
  const signatureOid = decodeOid(der, algParts[0].value, algParts[0].end);
  // Signature BIT STRING: a whole number of bytes (no unused bits).
  if (!signatureOid || sig.end - sig.value < 2 || der[sig.value] !== 0) return undefined;
  const commonName = commonNameIn(der, subject);
  if (commonName === null) return undefined;
  const names = requestedNames(der, attrs);
  if (!names) return undefined;
  return {
    criDer: der.subarray(cri.start, cri.end),
    spkiDer: der.subarray(spki.start, spki.end),
    signatureOid,
    signature: der.subarray(sig.value + 1, sig.end),
    commonName,
    ...names,
  };
}

/**
 * True when [from, to) holds only the types below, each as the schema parser (asn1js) will accept it.
 * asn1js decodes every element outside OCTET and BIT STRING values, including those the walk above
 * skips (other attributes, other name parts, algorithm parameters), and refuses some of them
 * (a UniversalString of 9 bytes, a truncated OID, a primitive SEQUENCE): such CSRs go to it.
 * A BIT STRING must have no unused bits: the schema path re-encodes the SPKI with none.
 */
function plainTypesOnly(der: Buffer, from: number, to: number, depth: number): boolean {
  const tlvs = depth < 12 && readAll(der, from, to); // a CSR nests 7 deep outside OCTET STRINGs
  if (!tlvs) return false;
  for (const t of tlvs) {
    if (t.tag === SEQ || t.tag === SET || t.tag === 0xa0) {
      if (!plainTypesOnly(der, t.value, t.end, depth + 1)) return false;
    } else if (!plainPrimitive(der, t)) return false;
  }
  return true;
}

function plainPrimitive(der: Buffer, t: Tlv): boolean {
  const len = t.end - t.value;
  switch (t.tag) {
    case 0x01: // BOOLEAN
      return len === 1;
    case 0x02: // INTEGER
      return len > 0;
    case 0x03: // BIT STRING
      return len > 0 && der[t.value] === 0;
    case 0x05: // NULL
      return len === 0;
    case OID_TAG:
      return decodeOid(der, t.value, t.end) !== undefined;
    case 0x04: // OCTET STRING
    case 0x0c: // UTF8String (asn1js falls back to the raw bytes when it is not UTF-8)
    case 0x13: // PrintableString
    case 0x16: // IA5String
      return true;
    default:
      return false;
  }
}

function spkiShapeOk(der: Buffer, spki: Tlv): boolean {
  if (spki.tag !== SEQ) return false;
  const parts = readAll(der, spki.value, spki.end);
  if (!parts || parts.length !== 2 || parts[0].tag !== SEQ || parts[1].tag !== 0x03) return false;
  const alg = readAll(der, parts[0].value, parts[0].end);
  return !!alg && alg.length >= 1 && alg.length <= 2 && alg[0].tag === OID_TAG;
}

/** The first CN of the subject; undefined when none; null when the shape is not one we read. */
function commonNameIn(der: Buffer, subject: Tlv): string | undefined | null {
  const rdns = readAll(der, subject.value, subject.end);
  if (!rdns) return null;
  let cn: string | undefined;
  for (const rdn of rdns) {
    if (rdn.tag !== SET) return null;
    const atvs = readAll(der, rdn.value, rdn.end);
    if (!atvs) return null;
    for (const atv of atvs) {
      if (atv.tag !== SEQ) return null;
      const tv = readAll(der, atv.value, atv.end);
      if (!tv || tv.length !== 2 || tv[0].tag !== OID_TAG) return null;
      if (cn === undefined && tlvEquals(der, tv[0], CN_OID)) {
        const s = directoryString(der, tv[1]);
        if (s === undefined) return null;
        cn = s;
      }
    }
  }
  return cn;
}

/** UTF8String or ASCII PrintableString; other string types go to the schema parser. */
function directoryString(der: Buffer, t: Tlv): string | undefined {
  const bytes = der.subarray(t.value, t.end);
  if (t.tag === 0x0c) {
    try {
      return utf8.decode(bytes);
    } catch {
      return undefined;
    }
  }
  if (t.tag === 0x13 && bytes.every((b) => b < 0x80)) return bytes.toString("latin1");
  return undefined;
}

/** DNS names and IPs of the first extensionRequest's subjectAltName; undefined for unusual shapes. */
function requestedNames(der: Buffer, attrs: Tlv): { dnsNames: string[]; ipAddresses: string[] } | undefined {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const list = readAll(der, attrs.value, attrs.end);
  if (!list) return undefined;
  let extReq: Tlv | undefined;
  for (const a of list) {
    if (a.tag !== SEQ) return undefined;
    const tv = readAll(der, a.value, a.end);
    if (!tv || tv.length !== 2 || tv[0].tag !== OID_TAG || tv[1].tag !== SET) return undefined;
    if (!extReq && tlvEquals(der, tv[0], EXTENSION_REQUEST_OID)) extReq = tv[1];
  }
  if (!extReq) return { dnsNames, ipAddresses };
  const values = readAll(der, extReq.value, extReq.end);
  if (!values || values.length === 0 || values[0].tag !== SEQ) return undefined;
  const exts = readAll(der, values[0].value, values[0].end);
  if (!exts) return undefined;
  let san: Tlv | undefined;
  for (const e of exts) {
    if (e.tag !== SEQ) return undefined;
    const f = readAll(der, e.value, e.end);
    if (!f || f.length < 2 || f.length > 3 || f[0].tag !== OID_TAG) return undefined;
    if (f.length === 3 && (f[1].tag !== 0x01 || f[1].end - f[1].value !== 1)) return undefined;
    const value = f[f.length - 1];
    if (value.tag !== 0x04) return undefined;
    if (!san && tlvEquals(der, f[0], SAN_OID)) san = value;
  }
  if (!san) return { dnsNames, ipAddresses };
  const seq = readTlv(der, san.value, san.end);
  if (!seq || seq.tag !== SEQ || seq.end !== san.end) return undefined;
  const gns = readAll(der, seq.value, seq.end);
  if (!gns) return undefined;
  for (const gn of gns) {
    const bytes = der.subarray(gn.value, gn.end);
    if (gn.tag === 0x82 && bytes.every((b) => b < 0x80))
      dnsNames.push(bytes.toString("latin1").toLowerCase());
    else if (gn.tag === 0x87 && (bytes.length === 4 || bytes.length === 16))
      ipAddresses.push(ipToString(bytes));
    else return undefined;
  }
  return { dnsNames, ipAddresses };
}

const P256_SPKI_PREFIX = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex");
const RSA_SPKI_ALG = Buffer.from("300d06092a864886f70d0101010500", "hex");

/**
 * The public key of a SubjectPublicKeyInfo. OpenSSL 3.0's DER decoder (what createPublicKey uses for
 * "spki") costs several signatures per call, so the two common kinds, P-256 with an uncompressed point
 * and RSA, are imported from their JWK form, which builds the same key without the decoder. Any other
 * key, or one that import refuses, goes through createPublicKey(der) and fails (or not) exactly as the
 * schema path does.
 */
export function importSpki(spkiDer: Buffer): crypto.KeyObject {
  const jwk = jwkOf(spkiDer);
  if (jwk) {
    try {
      return crypto.createPublicKey({ key: jwk, format: "jwk" });
    } catch {
      // fall through: the DER import gives the same error as the schema path
    }
  }
  return crypto.createPublicKey({ key: spkiDer, format: "der", type: "spki" });
}

function jwkOf(spki: Buffer): crypto.JsonWebKey | undefined {
  if (spki.length === 91 && spki.subarray(0, 26).equals(P256_SPKI_PREFIX) && spki[26] === 0x04) {
    return {
      kty: "EC",
      crv: "P-256",
      x: spki.subarray(27, 59).toString("base64url"),
      y: spki.subarray(59, 91).toString("base64url"),
    };
  }
  const outer = readTlv(spki, 0, spki.length);
  const parts = outer && readAll(spki, outer.value, outer.end);
  if (!parts || parts.length !== 2 || !tlvEquals(spki, parts[0], RSA_SPKI_ALG)) return undefined;
  const bits = parts[1];
  if (bits.tag !== 0x03 || spki[bits.value] !== 0) return undefined;
  const seq = readTlv(spki, bits.value + 1, bits.end);
  const ints = seq && seq.tag === SEQ && seq.end === bits.end && readAll(spki, seq.value, seq.end);
  if (!ints || ints.length !== 2) return undefined;
  const n = unsignedInteger(spki, ints[0]);
  const e = unsignedInteger(spki, ints[1]);
  return n && e ? { kty: "RSA", n: n.toString("base64url"), e: e.toString("base64url") } : undefined;
}

/** The magnitude of a positive, minimally encoded INTEGER; undefined otherwise. */
function unsignedInteger(buf: Buffer, t: Tlv): Buffer | undefined {
  if (t.tag !== 0x02 || t.end <= t.value || buf[t.value] & 0x80) return undefined;
  if (buf[t.value] === 0) {
    if (t.end - t.value < 2 || !(buf[t.value + 1] & 0x80)) return undefined;
    return buf.subarray(t.value + 1, t.end);
  }
  return buf.subarray(t.value, t.end);
}
