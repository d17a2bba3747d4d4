/**
 * Certificate signing requests: made where the key lives (node agent, installer, operator) and
 * checked by the CA. Only the public key and the requested names are ever read from a CSR; requested
 * extensions other than subjectAltName are ignored on purpose.
 */
import * as crypto from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Attributes, CertificationRequest, CertificationRequestInfo } from "@peculiar/asn1-csr";
import * as x from "@peculiar/asn1-x509";
import {
  boundedDer,
  commonNameOf,
  extension,
  findExtension,
  makeName,
  namesOf,
  subjectAltName,
  toAb,
  toPem,
} from "./asn";
import { MAX_CERT_BYTES, MAX_SAN_NAMES, PkiError } from "./errors";
import { readTlv } from "./fast-der";
import { importSpki, readCsrParts, type CsrParts } from "./fast-csr";
import { hashFor, keyKindOf, signatureOidFor, type KeyKind } from "./keys";
import { normaliseDnsName, normaliseIp } from "./names";

const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

export interface CsrSubject {
  readonly commonName: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

export interface ParsedCsr {
  readonly commonName: string | undefined;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly keyKind: KeyKind;
  readonly publicKey: crypto.KeyObject;
  /** The SubjectPublicKeyInfo exactly as requested (DER); copied unchanged into the certificate. */
  readonly spkiDer: Buffer;
  /** The same, parsed by the schema (on first use when the fast path read the CSR). */
  readonly spki: x.SubjectPublicKeyInfo;
}

/** Makes a PEM CSR signed by `privateKey` (proof of possession), naming `subject`. */
export function createCsr(subject: CsrSubject, privateKey: crypto.KeyObject): string {
  const publicKey = crypto.createPublicKey(privateKey);
  const dns = (subject.dnsNames ?? []).map((n) => normaliseDnsName(n, "createCsr dnsNames"));
  const ips = (subject.ipAddresses ?? []).map((ip) => normaliseIp(ip, "createCsr ipAddresses"));
  const attributes = new Attributes();
  if (dns.length + ips.length > 0) {
    const exts = new x.Extensions([extension(x.id_ce_subjectAltName, false, subjectAltName(dns, ips))]);
    attributes.push(new x.Attribute({ type: EXTENSION_REQUEST, values: [AsnConvert.serialize(exts)] }));
  }
  const info = new CertificationRequestInfo({
    subject: makeName(subject.commonName),
    subjectPKInfo: AsnConvert.parse(
      publicKey.export({ type: "spki", format: "der" }),
      x.SubjectPublicKeyInfo,
    ),
    attributes,
  });
  const signature = crypto.sign(hashFor(privateKey), Buffer.from(AsnConvert.serialize(info)), privateKey);
  const req = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new x.AlgorithmIdentifier({ algorithm: signatureOidFor(privateKey) }),
    signature: toAb(signature),
  });
  return toPem(AsnConvert.serialize(req), "CERTIFICATE REQUEST");
}

/**
 * Parses a CSR and verifies its self-signature (always); refuses weak keys. CSRs of the usual shape are
 * read by a strict DER walk (fast-csr.ts); anything else by the @peculiar schemas, as before.
 */
export function parseCsr(csr: string | Buffer): ParsedCsr {
  let der: Buffer;
  try {
    der = boundedDer(csr, "CERTIFICATE REQUEST", MAX_CERT_BYTES, "CSR");
  } catch (err) {
    if (err instanceof PkiError && err.code === "too-large") throw err;
    throw unparseable(err);
  }
  const outer = readTlv(der, 0, der.length);
  if (outer && outer.end !== der.length) {
    throw new PkiError(
      "bad-csr",
      `the CSR has ${der.length - outer.end} byte(s) after its end; give exactly one PEM "CERTIFICATE REQUEST"`,
    );
  }
  const parts = readCsrParts(der);
  const parsed = parts ? asRefusal(() => fromParts(parts)) : parseCsrWithSchema(der);
  const names = parsed.dnsNames.length + parsed.ipAddresses.length;
  if (names > MAX_SAN_NAMES)
    throw new PkiError("bad-csr", `the CSR asks for ${names} names; at most ${MAX_SAN_NAMES} are allowed`);
  return parsed;
}

/**
 * Whatever a hostile CSR makes the ASN.1 or key libraries throw is a refusal of the CSR, never an
 * internal error (the fuzz tier asserts that no other error escapes).
 */
function asRefusal<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof PkiError) throw err;
    throw unparseable(err);
  }
}

function unparseable(err: unknown): PkiError {
  return new PkiError(
    "bad-csr",
    `the CSR cannot be parsed (${(err as Error).message}); give a PEM "CERTIFICATE REQUEST"`,
  );
}

function badSignature(): PkiError {
  return new PkiError(
    "bad-csr-signature",
    "the CSR's signature does not verify with its own public key (tampered or corrupt CSR)",
  );
}

function fromParts(p: CsrParts): ParsedCsr {
  const publicKey = importSpki(p.spkiDer);
  const keyKind = keyKindOf(publicKey);
  if (!verifySignature(p.signatureOid, p.criDer, publicKey, p.signature)) throw badSignature();
  let spki: x.SubjectPublicKeyInfo | undefined;
  return {
    commonName: p.commonName,
    dnsNames: p.dnsNames,
    ipAddresses: p.ipAddresses,
    keyKind,
    publicKey,
    spkiDer: p.spkiDer,
    get spki() {
      return (spki ??= AsnConvert.parse(p.spkiDer, x.SubjectPublicKeyInfo));
    },
  };
}

/** The schema path of parseCsr on DER bytes; exported for the tests that hold the fast path to it. */
export function parseCsrWithSchema(der: Buffer): ParsedCsr {
  return asRefusal(() => parseWithSchema(der));
}

function parseWithSchema(der: Buffer): ParsedCsr {
  let req: CertificationRequest;
  try {
    req = AsnConvert.parse(der, CertificationRequest);
  } catch (err) {
    throw unparseable(err);
  }
  const info = req.certificationRequestInfo;
  const spkiDer = Buffer.from(AsnConvert.serialize(info.subjectPKInfo));
  const publicKey = crypto.createPublicKey({ key: spkiDer, format: "der", type: "spki" });
  const keyKind = keyKindOf(publicKey);
  const signed = Buffer.from(req.certificationRequestInfoRaw ?? AsnConvert.serialize(info));
  if (!verifySignature(req.signatureAlgorithm.algorithm, signed, publicKey, Buffer.from(req.signature)))
    throw badSignature();
  const extReq = info.attributes.find((a) => a.type === EXTENSION_REQUEST);
  const exts = extReq ? AsnConvert.parse(extReq.values[0], x.Extensions) : undefined;
  const { dnsNames, ipAddresses } = namesOf(
    findExtension(exts, x.id_ce_subjectAltName, x.SubjectAlternativeName),
  );
  return {
    commonName: commonNameOf(info.subject),
    dnsNames,
    ipAddresses,
    keyKind,
    publicKey,
    spkiDer,
    spki: info.subjectPKInfo,
  };
}

const SIG_HASH: Record<string, string> = {
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
};

/** Verifies a signature made with one of the algorithms zeroroot accepts (no SHA-1, no MD5). */
export function verifySignature(
  algOid: string,
  data: Buffer,
  key: crypto.KeyObject,
  signature: Buffer,
): boolean {
  const hash = SIG_HASH[algOid];
  if (!hash) return false;
  try {
    return crypto.verify(hash, data, key, signature);
  } catch {
    return false;
  }
}
