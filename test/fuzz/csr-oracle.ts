/**
 * The two CSR readers run independently on one input, and the verdict on whether they agree.
 * - fast: readCsrParts (the DER walk); when it takes the input, parseCsr completes it exactly as in
 *   production (key import, key kind, signature). When it declines ("deferred"), production hands the
 *   input to the schema parser, so there is nothing to compare.
 * - schema: parseCsrWithSchema (the @peculiar parser, key import, signature), plus an independent
 *   schema read of the raw parts and of every GeneralName, so that the fast path cannot silently drop
 *   a URI or another name kind it does not read.
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { CertificationRequest } from "@peculiar/asn1-csr";
import * as x from "@peculiar/asn1-x509";
import * as pki from "../../lib/pki";
import { findExtension, namesOf } from "../../lib/pki/asn";
import { parseCsrWithSchema } from "../../lib/pki/csr";
import { MAX_CERT_BYTES, MAX_SAN_NAMES } from "../../lib/pki/errors";
import { readCsrParts, type CsrParts } from "../../lib/pki/fast-csr";

const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

/** Every fact a caller can read from a parsed CSR, plus the raw parts the signature covers. */
export interface Facts {
  commonName: string | undefined;
  keyKind: string;
  spkiDer: string;
  /** ParsedCsr.spki (parsed on first use on the fast path) serialised again. */
  spki: string;
  publicKey: string;
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  uris: readonly string[];
  otherNames: number;
  signedBytes: string;
  signatureOid: string;
  signature: string;
}

export type Outcome = { accepted: true; facts: Facts } | { accepted: false; refusal: string };

/** "bad-csr", "weak-key", ... for a PkiError; "unexpected <code>" for any other error (a crash: production shows a stack trace). */
function refusalOf(err: unknown): string {
  if (err instanceof pki.PkiError) return err.code;
  const e = err as { code?: string; name?: string };
  return `unexpected ${e.code ?? e.name ?? String(err)}`;
}

const hexOf = (b: ArrayBuffer | Uint8Array) => Buffer.from(b as ArrayBuffer).toString("hex");

function common(c: pki.ParsedCsr) {
  return {
    commonName: c.commonName,
    keyKind: c.keyKind,
    spkiDer: c.spkiDer.toString("hex"),
    spki: hexOf(AsnConvert.serialize(c.spki)),
    publicKey: c.publicKey.export({ type: "spki", format: "der" }).toString("hex"),
    dnsNames: c.dnsNames,
    ipAddresses: c.ipAddresses,
  };
}

/** The schema path's verdict; `withParts` also reads the raw parts and every GeneralName (costly: only to compare). */
export function schemaOutcome(der: Buffer, withParts = true): Outcome {
  // The bounds parseCsr applies whichever reader it uses, so that they do not count as disagreements.
  if (der.length > MAX_CERT_BYTES) return { accepted: false, refusal: "too-large" };
  let parsed: pki.ParsedCsr;
  try {
    parsed = parseCsrWithSchema(der);
  } catch (err) {
    return { accepted: false, refusal: refusalOf(err) };
  }
  if (parsed.dnsNames.length + parsed.ipAddresses.length > MAX_SAN_NAMES)
    return { accepted: false, refusal: "bad-csr" };
  if (!withParts) return { accepted: true, facts: { ...common(parsed), ...NO_PARTS } };
  const req = AsnConvert.parse(der, CertificationRequest);
  const extReq = req.certificationRequestInfo.attributes.find((a) => a.type === EXTENSION_REQUEST);
  const exts = extReq ? AsnConvert.parse(extReq.values[0], x.Extensions) : undefined;
  const names = namesOf(findExtension(exts, x.id_ce_subjectAltName, x.SubjectAlternativeName));
  return {
    accepted: true,
    facts: {
      ...common(parsed),
      uris: names.uris,
      otherNames: names.other,
      signedBytes: hexOf(req.certificationRequestInfoRaw as ArrayBuffer),
      signatureOid: req.signatureAlgorithm.algorithm,
      signature: hexOf(req.signature),
    },
  };
}

const NO_PARTS = { uris: [], otherNames: 0, signedBytes: "", signatureOid: "", signature: "" };

export function fastOutcome(der: Buffer): Outcome | "deferred" {
  let parts: CsrParts | undefined;
  try {
    parts = readCsrParts(der);
  } catch (err) {
    return { accepted: false, refusal: refusalOf(err) };
  }
  if (!parts) return "deferred";
  try {
    const parsed = pki.parseCsr(der); // takes the fast path again: readCsrParts accepted these bytes
    return {
      accepted: true,
      facts: {
        ...common(parsed),
        uris: [], // the fast path reads no URI: a CSR requesting one must be deferred
        otherNames: 0,
        signedBytes: parts.criDer.toString("hex"),
        signatureOid: parts.signatureOid,
        signature: parts.signature.toString("hex"),
      },
    };
  } catch (err) {
    return { accepted: false, refusal: refusalOf(err) };
  }
}

export type Verdict =
  | { kind: "both-accept"; schema: Outcome }
  | { kind: "both-refuse" | "deferred"; schema: Outcome; fastRefusal: string }
  | { kind: "disagree"; detail: string; schema: Outcome; fast: Outcome };

/**
 * Runs both readers and compares. "deferred": the fast path declined the input (production then uses
 * the schema parser alone), whatever the schema parser made of it. Otherwise both must accept with
 * equal facts or both refuse; the refusal codes may differ (a CSR can be both malformed and wrongly
 * signed, and the readers check in different orders).
 */
export function judge(der: Buffer): Verdict {
  const fast = fastOutcome(der);
  const schema = schemaOutcome(der, fast !== "deferred" && fast.accepted);
  if (fast === "deferred") return { kind: "deferred", schema, fastRefusal: "declined" };
  if (!fast.accepted && !schema.accepted) {
    // The fast path must not turn a clean refusal into a crash (a stack trace, an HTTP 500).
    if (fast.refusal.startsWith("unexpected") && !schema.refusal.startsWith("unexpected")) {
      const detail = `fast path crashes (${fast.refusal}) where the schema parser refuses (${schema.refusal})`;
      return { kind: "disagree", detail, schema, fast };
    }
    return { kind: "both-refuse", schema, fastRefusal: fast.refusal };
  }
  if (!fast.accepted || !schema.accepted) {
    const what = (o: Outcome) => (o.accepted ? "accepts" : `refuses (${o.refusal})`);
    return { kind: "disagree", detail: `fast path ${what(fast)}, schema ${what(schema)}`, schema, fast };
  }
  const differing = (Object.keys(fast.facts) as (keyof Facts)[]).filter(
    (k) => JSON.stringify(fast.facts[k]) !== JSON.stringify(schema.facts[k]),
  );
  if (differing.length === 0) return { kind: "both-accept", schema };
  const show = (k: keyof Facts) =>
    `${k}: fast ${JSON.stringify(fast.facts[k])} schema ${JSON.stringify(schema.facts[k])}`;
  return { kind: "disagree", detail: differing.map(show).join("; "), schema, fast };
}
