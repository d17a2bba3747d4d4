/**
 * What a job's CSR may ask for. The issuing profile decides every extension anyway (lib/pki
 * ca-issue.ts ignores requested ones), but a job that asks for a CA bit, another extended key
 * usage or another node's name is misbehaving, and is refused so that it shows (and raises an alert
 * at the agent) instead of being quietly trimmed.
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { CertificationRequest } from "@peculiar/asn1-csr";
import * as x from "@peculiar/asn1-x509";
import { fromPem } from "../pki/asn";
import { escapeForMessage, parseCsr, PkiError, PROFILES, type ParsedCsr } from "../pki";

/** A P-256 or P-384 CSR with two names is ~600 bytes; RSA-4096 ~1.8 KiB. Checked before parsing. */
export const JOB_CSR_MAX_BYTES = 4096;

const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

/** The names a job certificate of this node will carry: what its CSR may also ask for. */
export interface JobCsrNames {
  /** `<owner's data center>.<user>` (jobName). */
  readonly commonName: string;
  readonly dnsName: string;
  readonly ipAddress?: string;
}

/** The CSR, parsed and signature-checked, or why it is refused (a message naming what it asked). */
export function screenJobCsr(csrPem: unknown, names: JobCsrNames): ParsedCsr | string {
  if (typeof csrPem !== "string") return `the CSR is a ${typeof csrPem}, not PEM text`;
  const bytes = Buffer.byteLength(csrPem, "utf8");
  if (bytes > JOB_CSR_MAX_BYTES)
    return `the CSR is ${bytes} bytes; a job CSR is at most ${JOB_CSR_MAX_BYTES} (one key, at most its node's two names)`;
  let csr: ParsedCsr;
  let requested: string[];
  try {
    csr = parseCsr(csrPem);
    requested = requestedExtensions(csrPem);
  } catch (err) {
    if (err instanceof PkiError) return `the CSR is not usable: ${err.message}`;
    throw err;
  }
  const extra = requested.find((oid) => oid !== x.id_ce_subjectAltName);
  if (extra !== undefined)
    return `the CSR asks for extension ${extra}; a job CSR may ask for none but its node's subjectAltName (the profile decides key usage, extended key usage and basic constraints)`;
  if (csr.commonName !== undefined && csr.commonName !== names.commonName)
    return `the CSR asks for CN "${escapeForMessage(csr.commonName)}"; this partition's jobs act only for "${names.commonName}"`;
  const allowed = [names.dnsName, ...(names.ipAddress ? [names.ipAddress] : [])];
  const other = [...csr.dnsNames, ...csr.ipAddresses].find((n) => !allowed.includes(n));
  if (other !== undefined)
    return `the CSR asks for the name "${escapeForMessage(other)}"; a job certificate names only its own node (${allowed.join(", ")})`;
  if (!PROFILES.job.allowedKeys.includes(csr.keyKind))
    return `the CSR's key is ${csr.keyKind}; allowed: ${PROFILES.job.allowedKeys.join(", ")}`;
  return csr;
}

/** OIDs of the extensions a CSR requests (its extensionRequest attribute); bounded by the size check. */
function requestedExtensions(csrPem: string): string[] {
  const req = AsnConvert.parse(fromPem(csrPem, "CERTIFICATE REQUEST"), CertificationRequest);
  const attrs = req.certificationRequestInfo.attributes;
  const other = attrs.find((a) => a.type !== EXTENSION_REQUEST);
  if (other !== undefined)
    throw new PkiError(
      "bad-csr",
      `it carries attribute ${other.type}; a job CSR carries at most an extensionRequest`,
    );
  return attrs
    .filter((a) => a.type === EXTENSION_REQUEST)
    .flatMap((a) => a.values.flatMap((v) => [...AsnConvert.parse(v, x.Extensions)].map((e) => e.extnID)));
}
