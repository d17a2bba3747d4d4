/**
 * Encoding and signing of certificates with the ASN.1 schemas: the extensions each profile carries, the
 * TBSCertificate, random serials. Shared by root creation (ca.ts) and issuance (ca-issue.ts).
 */
import * as crypto from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as x from "@peculiar/asn1-x509";
import { extension, toAb, nameConstraints, subjectAltName, OID } from "./asn";
import { hashFor, signatureOidFor, type KeyKind } from "./keys";
import type { NameScope } from "./names";
import type { Profile } from "./profiles";

export function profileExtensions(
  profile: Profile,
  subjectKeyId: Buffer,
  authorityKeyId: Buffer,
  dnsNames: readonly string[],
  ips: readonly string[],
  scope: NameScope | undefined,
  keyKind: KeyKind,
  uris: readonly string[] = [],
): x.Extension[] {
  const usage = profile.ca
    ? x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign
    : x.KeyUsageFlags.digitalSignature |
      (keyKind.startsWith("rsa") && profile.name === "service" ? x.KeyUsageFlags.keyEncipherment : 0);
  const exts = [
    extension(
      x.id_ce_basicConstraints,
      true,
      new x.BasicConstraints({ cA: profile.ca, pathLenConstraint: profile.ca ? profile.pathLen : undefined }),
    ),
    extension(x.id_ce_keyUsage, true, new x.KeyUsage(usage)),
    extension(x.id_ce_subjectKeyIdentifier, false, new x.SubjectKeyIdentifier(subjectKeyId)),
    extension(
      x.id_ce_authorityKeyIdentifier,
      false,
      new x.AuthorityKeyIdentifier({ keyIdentifier: new x.KeyIdentifier(authorityKeyId) }),
    ),
  ];
  if (profile.extendedKeyUsage.length)
    exts.push(
      extension(
        x.id_ce_extKeyUsage,
        false,
        new x.ExtendedKeyUsage(profile.extendedKeyUsage.map((e) => OID[e])),
      ),
    );
  if (dnsNames.length + ips.length + uris.length)
    exts.push(extension(x.id_ce_subjectAltName, false, subjectAltName(dnsNames, ips, uris)));
  if (scope) exts.push(extension(x.id_ce_nameConstraints, true, nameConstraints(scope)));
  return exts;
}

export interface TbsFields {
  readonly issuer: x.Name;
  readonly subject: x.Name;
  readonly spki: x.SubjectPublicKeyInfo;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: x.Extension[];
}

const serialPool = Buffer.alloc(16 * 256);
let serialPoolUsed = serialPool.length;

/** 128-bit random positive serial with a fixed length (top bits 01), as CAs/Browser Forum practice suggests. */
export function randomSerial(): Buffer {
  // Drawn from a pool refilled by the CSPRNG: one randomBytes call per 256 serials instead of per serial.
  if (serialPoolUsed >= serialPool.length) {
    crypto.randomFillSync(serialPool);
    serialPoolUsed = 0;
  }
  const s = Buffer.from(serialPool.subarray(serialPoolUsed, serialPoolUsed + 16));
  serialPool.fill(0, serialPoolUsed, serialPoolUsed + 16);
  serialPoolUsed += 16;
  s[0] = (s[0] & 0x3f) | 0x40;
  return s;
}

export function signatureAlgorithmFor(key: crypto.KeyObject): x.AlgorithmIdentifier {
  return new x.AlgorithmIdentifier({
    algorithm: signatureOidFor(key),
    parameters: key.asymmetricKeyType === "rsa" ? null : undefined,
  });
}

export function signTbs(key: crypto.KeyObject, f: TbsFields, serial: Buffer = randomSerial()): ArrayBuffer {
  const algorithm = signatureAlgorithmFor(key);
  const tbs = new x.TBSCertificate({
    version: x.Version.v3,
    serialNumber: toAb(serial),
    signature: algorithm,
    issuer: f.issuer,
    validity: new x.Validity({ notBefore: f.notBefore, notAfter: f.notAfter }),
    subject: f.subject,
    subjectPublicKeyInfo: f.spki,
    extensions: new x.Extensions(f.extensions),
  });
  const signature = crypto.sign(hashFor(key), Buffer.from(AsnConvert.serialize(tbs)), key);
  const cert = AsnConvert.serialize(
    new x.Certificate({
      tbsCertificate: tbs,
      signatureAlgorithm: algorithm,
      signatureValue: toAb(signature),
    }),
  );
  return cert;
}
