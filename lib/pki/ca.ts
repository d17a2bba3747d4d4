/**
 * Certificate authorities: loading one from its certificate and key, creating a self-signed root.
 * Issuance (ca-issue.ts) only ever starts from a verified CSR; this module re-exports it.
 */
import * as crypto from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as x from "@peculiar/asn1-x509";
import { keyIdentifier, makeName, toPem } from "./asn";
import { profileExtensions, signTbs } from "./ca-sign";
import { parseCertificate, type CertInfo } from "./cert";
import { PkiError } from "./errors";
import { generateKeyPair, keyKindOf, loadPrivateKey, type KeyKind } from "./keys";
import { caNameProblem } from "./identity";
import { profileFor, resolveValidityDays } from "./profiles";

export interface CertificateAuthority {
  readonly certificatePem: string;
  readonly info: CertInfo;
  readonly privateKey: crypto.KeyObject;
}

export {
  issueFromCsr,
  issueFromCsrWith,
  describeScope,
  type Authorisation,
  type IssueOptions,
  type IssuedCertificate,
} from "./ca-issue";
export type { IssueInternals } from "./ca-encode";
export { randomSerial } from "./ca-sign";

/** Loads a CA from its certificate and private key, refusing a key that does not match. */
export function loadCa(certPem: string, keyPem: string | Buffer, passphrase?: string): CertificateAuthority {
  const info = parseCertificate(certPem);
  const privateKey = loadPrivateKey(keyPem, passphrase);
  const spki = crypto.createPublicKey(privateKey).export({ type: "spki", format: "der" });
  if (!spki.equals(info.spkiDer))
    throw new PkiError("bad-input", "the CA private key does not belong to the CA certificate");
  if (!info.isCa)
    throw new PkiError(
      "bad-input",
      `certificate "${info.commonName}" is not a CA (basicConstraints cA is false)`,
    );
  return { certificatePem: toPem(info.der, "CERTIFICATE"), info, privateKey };
}

/** Creates a self-signed root CA; its key is returned to the caller, who must encrypt or hide it. */
export function createRootCa(args: {
  commonName: string;
  organization?: string;
  keyKind?: KeyKind;
  validityDays?: number;
  now?: Date;
}): {
  ca: CertificateAuthority;
  certificatePem: string;
} {
  const profile = profileFor("root");
  // Bounded before the (slow) key generation.
  const days = resolveValidityDays(args.validityDays, profile);
  const problem = caNameProblem(args.commonName);
  if (problem) throw new PkiError("bad-input", problem);
  const keys = generateKeyPair(args.keyKind ?? "ec-p256");
  const spki = AsnConvert.parse(
    keys.publicKey.export({ type: "spki", format: "der" }),
    x.SubjectPublicKeyInfo,
  );
  const name = makeName(args.commonName, args.organization);
  const now = args.now ?? new Date();
  const der = signTbs(keys.privateKey, {
    issuer: name,
    subject: name,
    spki,
    notBefore: new Date(now.getTime() - 300_000),
    notAfter: new Date(now.getTime() + days * 86_400_000),
    extensions: profileExtensions(
      profile,
      keyIdentifier(spki),
      keyIdentifier(spki),
      [],
      [],
      undefined,
      keyKindOf(keys.publicKey),
    ),
  });
  const certificatePem = toPem(der, "CERTIFICATE");
  return {
    ca: loadCa(certificatePem, keys.privateKey.export({ type: "pkcs8", format: "pem" })),
    certificatePem,
  };
}
