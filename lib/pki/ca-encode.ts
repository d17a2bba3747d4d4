/**
 * The fast path of issuance: leaf profiles are encoded from a per-CA template (fast-cert.ts) when it can
 * encode the fields; CA profiles, and anything the template cannot encode, go through the schemas.
 */
import * as crypto from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { keyIdentifier, makeName } from "./asn";
import type { CertificateAuthority } from "./ca";
import { profileExtensions, signatureAlgorithmFor, signTbs } from "./ca-sign";
import type { ParsedCsr } from "./csr";
import { encodeLeafTbs, makeTemplate, signLeaf, type LeafTemplate } from "./fast-cert";
import { readAll, readTlv } from "./fast-der";
import { hashFor, type KeyKind } from "./keys";
import type { NameScope } from "./names";
import type { Profile } from "./profiles";

/** Internal knobs of issuance, for the byte-identity tests and the benchmark only. */
export interface IssueInternals {
  /**
   * "template": leaf profiles only, and an error when a field needs the schema encoder; "library": the
   * schema encoder. @default - the template when it can encode the certificate, else the schemas
   */
  readonly encoder?: "template" | "library";
  /** @default - randomSerial() */
  readonly serial?: Buffer;
}

/** Everything of an issued certificate that issuance has already decided. */
export interface IssuedFields {
  readonly serial: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly commonName: string;
  readonly organization: string | undefined;
  readonly csr: ParsedCsr;
  readonly subjectKeyId: Buffer;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** The leaf's identity URI (none for CAs). */
  readonly uris: readonly string[];
  readonly scope: NameScope | undefined;
}

/** Encodes and signs the certificate, with the template when `internals` and the profile allow it. */
export function encodeCertificate(
  internals: IssueInternals,
  ca: CertificateAuthority,
  profile: Profile,
  f: IssuedFields,
): Buffer | ArrayBuffer {
  let cert: Buffer | ArrayBuffer | undefined;
  if (!profile.ca && internals.encoder !== "library") {
    const template = leafTemplate(ca, profile, f.csr.keyKind);
    const tbs = encodeLeafTbs(template, {
      serial: f.serial,
      notBefore: f.notBefore,
      notAfter: f.notAfter,
      commonName: f.commonName,
      organization: f.organization,
      spkiDer: f.csr.spkiDer,
      subjectKeyId: f.subjectKeyId,
      dnsNames: f.dnsNames,
      ipAddresses: f.ipAddresses,
      uris: f.uris,
    });
    if (tbs) cert = signLeaf(template, tbs, ca.privateKey);
    else if (internals.encoder === "template")
      throw new Error("issueFromCsrWith: the template encoder cannot encode this certificate");
  }
  cert ??= signTbs(
    ca.privateKey,
    {
      issuer: ca.info.subject,
      subject: makeName(f.commonName, f.organization),
      spki: f.csr.spki,
      notBefore: f.notBefore,
      notAfter: f.notAfter,
      extensions: profileExtensions(
        profile,
        f.subjectKeyId,
        ca.info.subjectKeyId,
        f.dnsNames,
        f.ipAddresses,
        f.scope,
        f.csr.keyKind,
        f.uris,
      ),
    },
    f.serial,
  );
  return cert;
}

/**
 * Constant parts of a leaf profile's TBSCertificate for one CA, encoded once by the schemas. Keyed by
 * the CA object, so a reloaded CA gets fresh templates.
 */
const templates = new WeakMap<CertificateAuthority, Map<string, LeafTemplate>>();
const PLACEHOLDER_KEY_ID = Buffer.alloc(20, 0x5a);

function leafTemplate(ca: CertificateAuthority, profile: Profile, keyKind: KeyKind): LeafTemplate {
  let byProfile = templates.get(ca);
  if (!byProfile) templates.set(ca, (byProfile = new Map()));
  // keyUsage is the only extension that depends on the subject key (RSA service keys add keyEncipherment).
  const rsa = keyKind.startsWith("rsa");
  const id = `${profile.name}:${rsa}`;
  let t = byProfile.get(id);
  if (!t) {
    t = makeTemplate({
      hash: hashFor(ca.privateKey),
      signatureAlgorithm: signatureAlgorithmFor(ca.privateKey),
      issuerDer: Buffer.from(AsnConvert.serialize(ca.info.subject)),
      extensions: profileExtensions(
        profile,
        PLACEHOLDER_KEY_ID,
        ca.info.subjectKeyId,
        [],
        [],
        undefined,
        keyKind,
      ),
      placeholderKeyId: PLACEHOLDER_KEY_ID,
    });
    byProfile.set(id, t);
  }
  return t;
}

/** keyIdentifier() of the CSR's key, read from the SPKI DER without parsing it with the schema. */
export function keyIdentifierOfDer(csr: ParsedCsr): Buffer {
  const der = csr.spkiDer;
  const outer = readTlv(der, 0, der.length);
  const parts = outer && readAll(der, outer.value, outer.end);
  const bits = parts && parts.length === 2 && parts[1].tag === 0x03 ? parts[1] : undefined;
  if (!bits || bits.end - bits.value < 1) return keyIdentifier(csr.spki);
  return crypto
    .createHash("sha1")
    .update(der.subarray(bits.value + 1, bits.end))
    .digest();
}
