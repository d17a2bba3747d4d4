/**
 * Test-only forgery: certificates and CRLs signed with a CA's key whatever they say, as a lax or
 * compromised CA would sign them, so that verifiers (ours and openssl) are held to refuse them.
 * Never used by product code.
 */
import * as crypto from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as x from "@peculiar/asn1-x509";
import * as pki from "../../../lib/pki";
import {
  OID,
  extension,
  keyIdentifier,
  makeName,
  nameConstraints,
  subjectAltName,
  toAb,
  toPem,
} from "../../../lib/pki/asn";
import { randomSerial, signTbs } from "../../../lib/pki/ca-sign";
import { hashFor, signatureOidFor } from "../../../lib/pki/keys";

const DAY = 86_400_000;

/** Who signs: a loaded CA, or a key that signs its own (self-signed) certificate. */
export type Signer = pki.CertificateAuthority | { readonly selfKey: crypto.KeyObject };

export interface Forged {
  readonly cn: string;
  readonly publicKey: crypto.KeyObject;
  /** A CA certificate with this pathLen (undefined = unlimited) and these name constraints. */
  readonly ca?: { readonly pathLen?: number; readonly scope?: pki.NameScope };
  /** EKU names or OIDs. @default - none */
  readonly eku?: readonly string[];
  /** keyUsage flags; null for no keyUsage extension. @default digitalSignature (keyCertSign|cRLSign for CAs) */
  readonly keyUsage?: number | null;
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  readonly uris?: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly serial?: Buffer;
  readonly extra?: readonly x.Extension[];
  /** Signature algorithm OID written into the certificate; a SHA-1 one is signed with SHA-1. */
  readonly signatureOid?: string;
}

/** A PEM certificate saying exactly what `f` says, signed by `signer`. */
export function forge(signer: Signer, f: Forged): string {
  const spki = AsnConvert.parse(f.publicKey.export({ type: "spki", format: "der" }), x.SubjectPublicKeyInfo);
  const self = "selfKey" in signer;
  const subject = makeName(f.cn);
  const usage =
    f.keyUsage === undefined
      ? f.ca
        ? x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign
        : x.KeyUsageFlags.digitalSignature
      : f.keyUsage;
  const exts = [
    extension(
      x.id_ce_basicConstraints,
      true,
      new x.BasicConstraints({ cA: !!f.ca, pathLenConstraint: f.ca?.pathLen }),
    ),
    extension(x.id_ce_subjectKeyIdentifier, false, new x.SubjectKeyIdentifier(keyIdentifier(spki))),
    extension(
      x.id_ce_authorityKeyIdentifier,
      false,
      new x.AuthorityKeyIdentifier({
        keyIdentifier: new x.KeyIdentifier(self ? keyIdentifier(spki) : signer.info.subjectKeyId),
      }),
    ),
  ];
  if (usage !== null) exts.push(extension(x.id_ce_keyUsage, true, new x.KeyUsage(usage)));
  if (f.eku?.length)
    exts.push(
      extension(
        x.id_ce_extKeyUsage,
        false,
        new x.ExtendedKeyUsage(f.eku.map((e) => (OID as Record<string, string>)[e] ?? e)),
      ),
    );
  if ((f.dns?.length ?? 0) + (f.ips?.length ?? 0) + (f.uris?.length ?? 0))
    exts.push(
      extension(x.id_ce_subjectAltName, false, subjectAltName(f.dns ?? [], f.ips ?? [], f.uris ?? [])),
    );
  if (f.ca?.scope) exts.push(extension(x.id_ce_nameConstraints, true, nameConstraints(f.ca.scope)));
  exts.push(...(f.extra ?? []));
  const key = self ? signer.selfKey : signer.privateKey;
  const now = Date.now();
  const der = signTbs(
    key,
    {
      issuer: self ? subject : signer.info.subject,
      subject,
      spki,
      notBefore: f.notBefore ?? new Date(now - DAY),
      notAfter: f.notAfter ?? new Date(now + 30 * DAY),
      extensions: exts,
    },
    f.serial ?? randomSerial(),
  );
  if (!f.signatureOid) return toPem(der, "CERTIFICATE");
  // Rewrite the algorithm identifiers (inner and outer) and re-sign the altered TBS.
  const cert = AsnConvert.parse(der, x.Certificate);
  const alg = new x.AlgorithmIdentifier({ algorithm: f.signatureOid });
  cert.tbsCertificate.signature = alg;
  cert.signatureAlgorithm = alg;
  const tbs = Buffer.from(AsnConvert.serialize(cert.tbsCertificate));
  const sha1 = ["1.2.840.10045.4.1", "1.2.840.113549.1.1.5"].includes(f.signatureOid);
  cert.signatureValue = toAb(crypto.sign(sha1 ? "sha1" : hashFor(key), tbs, key));
  cert.tbsCertificateRaw = undefined as unknown as ArrayBuffer;
  return toPem(AsnConvert.serialize(cert), "CERTIFICATE");
}

/** A CRL of `ca` with arbitrary extensions (e.g. an unknown critical one), signed by `ca`. */
export function forgeCrl(
  ca: pki.CertificateAuthority,
  opts: { number: number; revoked?: readonly string[]; extra?: readonly x.Extension[] },
): string {
  const algorithm = new x.AlgorithmIdentifier({
    algorithm: signatureOidFor(ca.privateKey),
    parameters: ca.privateKey.asymmetricKeyType === "rsa" ? null : undefined,
  });
  const now = Date.now();
  const tbs = new x.TBSCertList({
    version: x.Version.v2,
    signature: algorithm,
    issuer: ca.info.subject,
    thisUpdate: new x.Time(new Date(now - 60_000)),
    nextUpdate: new x.Time(new Date(now + 7 * DAY)),
    revokedCertificates: opts.revoked?.length
      ? opts.revoked.map(
          (s) =>
            new x.RevokedCertificate({
              userCertificate: toAb(Buffer.from(s.length % 2 ? `0${s}` : s, "hex")),
              revocationDate: new x.Time(new Date(now - 60_000)),
            }),
        )
      : undefined,
    crlExtensions: [extension(x.id_ce_cRLNumber, false, new x.CRLNumber(opts.number)), ...(opts.extra ?? [])],
  });
  const signed = Buffer.from(AsnConvert.serialize(tbs));
  const signature = crypto.sign(hashFor(ca.privateKey), signed, ca.privateKey);
  return toPem(
    AsnConvert.serialize(
      new x.CertificateList({ tbsCertList: tbs, signatureAlgorithm: algorithm, signature: toAb(signature) }),
    ),
    "X509 CRL",
  );
}

/** A DC issuing CA's name scope as issuance writes it, for forging CAs with other kinds or none. */
export function scopeOf(
  zone: string,
  kinds: readonly pki.LeafKind[],
  ipNetworks: readonly string[] = [],
): pki.NameScope {
  return {
    dnsZones: [zone],
    ipNetworks,
    excludeAllIps: ipNetworks.length === 0,
    uriHosts: kinds.map((k) => `${k}.${zone}`),
  };
}

/** A loaded CA from a forged CA certificate and its key. */
export function asCa(certPem: string, key: crypto.KeyObject): pki.CertificateAuthority {
  return pki.loadCa(certPem, pki.exportPkcs8(key));
}

/** Any certificate and its key as a signer, without loadCa's checks (a leaf that signs anyway). */
export function asSigner(certPem: string, key: crypto.KeyObject): pki.CertificateAuthority {
  return { certificatePem: certPem, info: pki.parseCertificate(certPem), privateKey: key };
}
