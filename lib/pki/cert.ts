/** Parsing of certificates into the few facts issuance and verification need. */
import * as crypto from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as x from "@peculiar/asn1-x509";
import { boundedDer, commonNameOf, findExtension, keyIdentifier, namesOf } from "./asn";
import { MAX_CERT_BYTES, PkiError } from "./errors";
import type { NameScope } from "./names";

export interface CertInfo {
  readonly der: Buffer;
  readonly asn: x.Certificate;
  /** The signed bytes exactly as received (a re-encoding could hide tampering). */
  readonly tbsDer: Buffer;
  readonly serial: string;
  readonly subject: x.Name;
  readonly subjectDer: Buffer;
  readonly issuerDer: Buffer;
  readonly commonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  readonly pathLen?: number;
  readonly keyCertSign: boolean;
  /** keyUsage bits (x.KeyUsageFlags), or undefined when the certificate has no keyUsage extension. */
  readonly keyUsage?: number;
  /** OIDs of the extensions marked critical: a verifier must refuse any it does not process. */
  readonly criticalExtensions: readonly string[];
  readonly extendedKeyUsage: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** URI subject alternative names; a zeroroot leaf carries its identity URI here (identity.ts). */
  readonly uris: readonly string[];
  readonly nameScope?: NameScope;
  readonly subjectKeyId: Buffer;
  readonly authorityKeyId?: Buffer;
  readonly spkiDer: Buffer;
  readonly publicKey: crypto.KeyObject;
  readonly selfSigned: boolean;
}

export function parseCertificate(data: string | Buffer): CertInfo {
  const der = boundedDer(data, "CERTIFICATE", MAX_CERT_BYTES, "certificate");
  let asn: x.Certificate;
  try {
    asn = AsnConvert.parse(der, x.Certificate);
  } catch (err) {
    throw new PkiError("bad-input", `cannot parse the certificate (${(err as Error).message})`);
  }
  const tbs = asn.tbsCertificate;
  const exts = tbs.extensions;
  const bc = findExtension(exts, x.id_ce_basicConstraints, x.BasicConstraints);
  const ku = findExtension(exts, x.id_ce_keyUsage, x.KeyUsage);
  const eku = findExtension(exts, x.id_ce_extKeyUsage, x.ExtendedKeyUsage);
  const ski = findExtension(exts, x.id_ce_subjectKeyIdentifier, x.SubjectKeyIdentifier);
  const aki = findExtension(exts, x.id_ce_authorityKeyIdentifier, x.AuthorityKeyIdentifier);
  const nc = findExtension(exts, x.id_ce_nameConstraints, x.NameConstraints);
  const spkiDer = Buffer.from(AsnConvert.serialize(tbs.subjectPublicKeyInfo));
  const subjectDer = Buffer.from(AsnConvert.serialize(tbs.subject));
  const issuerDer = Buffer.from(AsnConvert.serialize(tbs.issuer));
  return {
    der,
    asn,
    tbsDer: Buffer.from(asn.tbsCertificateRaw ?? AsnConvert.serialize(tbs)),
    serial: Buffer.from(tbs.serialNumber)
      .toString("hex")
      .replace(/^(00)+(?=.)/, ""),
    subject: tbs.subject,
    subjectDer,
    issuerDer,
    commonName: commonNameOf(tbs.subject) ?? "",
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    isCa: bc?.cA ?? false,
    pathLen: bc?.pathLenConstraint,
    keyCertSign: ku ? (ku.toNumber() & x.KeyUsageFlags.keyCertSign) !== 0 : false,
    keyUsage: ku?.toNumber(),
    criticalExtensions: (exts ?? []).filter((e) => e.critical).map((e) => e.extnID),
    extendedKeyUsage: eku ? [...eku] : [],
    ...pick(namesOf(findExtension(exts, x.id_ce_subjectAltName, x.SubjectAlternativeName))),
    nameScope: nc ? scopeOf(nc) : undefined,
    subjectKeyId: ski ? Buffer.from(ski.buffer) : keyIdentifier(tbs.subjectPublicKeyInfo),
    authorityKeyId: aki?.keyIdentifier ? Buffer.from(aki.keyIdentifier.buffer) : undefined,
    spkiDer,
    publicKey: crypto.createPublicKey({ key: spkiDer, format: "der", type: "spki" }),
    selfSigned: subjectDer.equals(issuerDer),
  };
}

function pick(n: ReturnType<typeof namesOf>) {
  return { dnsNames: n.dnsNames, ipAddresses: n.ipAddresses, uris: n.uris };
}

/** Reads back permitted DNS zones and IP networks; an excluded 0.0.0.0/0 means "no IP addresses". */
function scopeOf(nc: x.NameConstraints): NameScope {
  const permitted = [...(nc.permittedSubtrees ?? [])].map((s) => s.base);
  const excluded = [...(nc.excludedSubtrees ?? [])].map((s) => s.base);
  return {
    dnsZones: permitted.filter((g) => g.dNSName !== undefined).map((g) => g.dNSName as string),
    ipNetworks: permitted.filter((g) => g.iPAddress !== undefined).map((g) => g.iPAddress as string),
    excludeAllIps: excluded.some((g) => g.iPAddress === "0.0.0.0/0"),
    uriHosts: permitted
      .filter((g) => g.uniformResourceIdentifier !== undefined)
      .map((g) => g.uniformResourceIdentifier as string),
  };
}

export { ekuOid } from "./oids";
