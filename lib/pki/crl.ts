/**
 * Certificate revocation lists: issued by a CA (the root for issuing CAs, an issuing CA for leaves),
 * published through the control plane, and checked by verifyCertificate and by openssl -crl_check.
 */
import * as crypto from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as x from "@peculiar/asn1-x509";
import type { CertificateAuthority } from "./ca";
import { boundedDer, extension, findExtension, toAb, toPem } from "./asn";
import { MAX_CRL_BYTES, PkiError } from "./errors";
import { hashFor, signatureOidFor } from "./keys";

export type RevocationReason =
  | "unspecified"
  | "keyCompromise"
  | "cACompromise"
  | "affiliationChanged"
  | "superseded"
  | "cessationOfOperation"
  | "privilegeWithdrawn";
export const REVOCATION_REASONS: readonly RevocationReason[] = [
  "unspecified",
  "keyCompromise",
  "cACompromise",
  "affiliationChanged",
  "superseded",
  "cessationOfOperation",
  "privilegeWithdrawn",
];

export interface Revocation {
  /** Hex serial as printed by `openssl x509 -serial` (case and leading zeros ignored). */
  readonly serial: string;
  readonly reason: RevocationReason;
  readonly revokedAt: Date;
}

export interface CrlOptions {
  /** Monotonic CRL number; relying parties keep the highest. */
  readonly number: number;
  /** @default - now */
  readonly thisUpdate?: Date;
  /** @default - 7 days after thisUpdate */
  readonly nextUpdate?: Date;
}

export function normaliseSerial(serial: string): string {
  const s = serial.trim().toLowerCase().replace(/^0x/, "").replace(/:/g, "");
  if (!/^[0-9a-f]+$/.test(s))
    throw new PkiError(
      "bad-input",
      `serial "${serial}" is not hexadecimal (as printed by openssl x509 -serial)`,
    );
  return s.replace(/^0+(?=.)/, "");
}

export function checkReason(reason: string): RevocationReason {
  if (!(REVOCATION_REASONS as readonly string[]).includes(reason)) {
    throw new PkiError(
      "bad-input",
      `revocation reason "${reason}" is unknown; allowed: ${REVOCATION_REASONS.join(", ")}`,
    );
  }
  return reason as RevocationReason;
}

/** Issues a signed v2 CRL (PEM) listing `revoked`, with reason codes, CRL number and AKI. */
export function issueCrl(ca: CertificateAuthority, revoked: readonly Revocation[], opts: CrlOptions): string {
  const thisUpdate = opts.thisUpdate ?? new Date();
  const nextUpdate = opts.nextUpdate ?? new Date(thisUpdate.getTime() + 7 * 86_400_000);
  if (!Number.isSafeInteger(opts.number) || opts.number < 0)
    throw new PkiError(
      "bad-input",
      `CRL number ${String(opts.number)} is not allowed; allowed: a whole number from 0`,
    );
  if (!(nextUpdate > thisUpdate))
    throw new PkiError(
      "bad-input",
      `a CRL's nextUpdate (${nextUpdate.toISOString()}) must follow its thisUpdate`,
    );
  const algorithm = new x.AlgorithmIdentifier({
    algorithm: signatureOidFor(ca.privateKey),
    parameters: ca.privateKey.asymmetricKeyType === "rsa" ? null : undefined,
  });
  const entries = revoked.map((r) => {
    const hex = normaliseSerial(r.serial);
    const bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
    return new x.RevokedCertificate({
      userCertificate: toAb(bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes),
      revocationDate: new x.Time(r.revokedAt),
      crlEntryExtensions: [
        extension(x.id_ce_cRLReasons, false, new x.CRLReason(x.CRLReasons[checkReason(r.reason)])),
      ],
    });
  });
  const tbs = new x.TBSCertList({
    version: x.Version.v2,
    signature: algorithm,
    issuer: ca.info.subject,
    thisUpdate: new x.Time(thisUpdate),
    nextUpdate: new x.Time(nextUpdate),
    revokedCertificates: entries.length ? entries : undefined,
    crlExtensions: [
      extension(
        x.id_ce_authorityKeyIdentifier,
        false,
        new x.AuthorityKeyIdentifier({ keyIdentifier: new x.KeyIdentifier(ca.info.subjectKeyId) }),
      ),
      extension(x.id_ce_cRLNumber, false, new x.CRLNumber(opts.number)),
    ],
  });
  const signature = crypto.sign(
    hashFor(ca.privateKey),
    Buffer.from(AsnConvert.serialize(tbs)),
    ca.privateKey,
  );
  const crl = new x.CertificateList({
    tbsCertList: tbs,
    signatureAlgorithm: algorithm,
    signature: toAb(signature),
  });
  return toPem(AsnConvert.serialize(crl), "X509 CRL");
}

export interface ParsedCrl {
  readonly issuerDer: Buffer;
  readonly tbsDer: Buffer;
  readonly signatureAlgorithm: string;
  readonly signature: Buffer;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  readonly number?: number;
  /** serial (normalised hex) -> reason */
  readonly revoked: ReadonlyMap<string, RevocationReason>;
  /** OIDs of critical CRL and entry extensions (a delta CRL's, an issuing distribution point's...). */
  readonly criticalExtensions: readonly string[];
}

export function parseCrl(data: string | Buffer): ParsedCrl {
  const der = boundedDer(data, "X509 CRL", MAX_CRL_BYTES, "CRL");
  try {
    return readCrl(AsnConvert.parse(der, x.CertificateList));
  } catch (err) {
    throw new PkiError("bad-input", `cannot parse the CRL (${(err as Error).message})`);
  }
}

function readCrl(crl: x.CertificateList): ParsedCrl {
  const tbs = crl.tbsCertList;
  const revoked = new Map<string, RevocationReason>();
  const critical = (tbs.crlExtensions ?? []).filter((e) => e.critical).map((e) => e.extnID);
  for (const e of tbs.revokedCertificates ?? []) {
    critical.push(...(e.crlEntryExtensions ?? []).filter((c) => c.critical).map((c) => c.extnID));
    const reason = findExtension(e.crlEntryExtensions, x.id_ce_cRLReasons, x.CRLReason);
    const name = reason ? (x.CRLReasons[reason.reason] as RevocationReason) : "unspecified";
    revoked.set(normaliseSerial(Buffer.from(e.userCertificate).toString("hex")), name);
  }
  return {
    issuerDer: Buffer.from(AsnConvert.serialize(tbs.issuer)),
    tbsDer: Buffer.from(crl.tbsCertListRaw ?? AsnConvert.serialize(tbs)),
    signatureAlgorithm: crl.signatureAlgorithm.algorithm,
    signature: Buffer.from(crl.signature),
    thisUpdate: tbs.thisUpdate.getTime(),
    nextUpdate: tbs.nextUpdate?.getTime(),
    number: findExtension(tbs.crlExtensions, x.id_ce_cRLNumber, x.CRLNumber)?.value,
    revoked,
    criticalExtensions: critical,
  };
}
