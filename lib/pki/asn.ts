/**
 * Thin helpers over @peculiar/asn1-x509 (the ASN.1 schemas do all encoding; nothing here writes DER
 * by hand). Keeps the rest of lib/pki free of schema details.
 */
import * as crypto from "node:crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import * as x from "@peculiar/asn1-x509";
import { PkiError } from "./errors";
import type { NameScope } from "./names";

import { OID, type Eku } from "./oids";

export { OID, type Eku };

/** A Name of O (optional) and CN, the only attributes zeroroot puts in subjects. */
export function makeName(commonName: string, organization?: string): x.Name {
  const rdn = (type: string, value: string) =>
    new x.RelativeDistinguishedName([
      new x.AttributeTypeAndValue({ type, value: new x.AttributeValue({ utf8String: value }) }),
    ]);
  const rdns = organization
    ? [rdn(OID.organization, organization), rdn(OID.commonName, commonName)]
    : [rdn(OID.commonName, commonName)];
  return new x.Name(rdns);
}

export function commonNameOf(name: x.Name): string | undefined {
  for (const rdn of name) for (const atv of rdn) if (atv.type === OID.commonName) return atv.value.toString();
  return undefined;
}

export function extension(oid: string, critical: boolean, value: object): x.Extension {
  return new x.Extension({ extnID: oid, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

export function subjectAltName(
  dnsNames: readonly string[],
  ips: readonly string[],
  uris: readonly string[] = [],
): x.SubjectAlternativeName {
  return new x.SubjectAlternativeName([
    ...dnsNames.map((dNSName) => new x.GeneralName({ dNSName })),
    ...ips.map((iPAddress) => new x.GeneralName({ iPAddress })),
    ...uris.map((uniformResourceIdentifier) => new x.GeneralName({ uniformResourceIdentifier })),
  ]);
}

/**
 * Name constraints for an issuing CA. IP addresses are excluded outright when no network is
 * permitted, because an absent IP subtree would otherwise leave every address allowed.
 */
export function nameConstraints(scope: NameScope): x.NameConstraints {
  const subtree = (gn: x.GeneralName) => new x.GeneralSubtree({ base: gn });
  const permitted = [
    ...scope.dnsZones.map((z) => subtree(new x.GeneralName({ dNSName: z }))),
    ...scope.ipNetworks.map((n) => subtree(new x.GeneralName({ iPAddress: n }))),
    ...scope.uriHosts.map((h) => subtree(new x.GeneralName({ uniformResourceIdentifier: h }))),
  ];
  const excluded = scope.excludeAllIps
    ? ["0.0.0.0/0", "::/0"].map((n) => subtree(new x.GeneralName({ iPAddress: n })))
    : [];
  return new x.NameConstraints({
    permittedSubtrees: permitted.length ? new x.GeneralSubtrees(permitted) : undefined,
    excludedSubtrees: excluded.length ? new x.GeneralSubtrees(excluded) : undefined,
  });
}

/** Method 1 of RFC 5280 4.2.1.2: SHA-1 of the subjectPublicKey bits, as every tool computes it. */
export function keyIdentifier(spki: x.SubjectPublicKeyInfo): Buffer {
  return crypto.createHash("sha1").update(Buffer.from(spki.subjectPublicKey)).digest();
}

export function toPem(der: Uint8Array | ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der as ArrayBuffer).toString("base64");
  let body = b64.length ? "" : "\n";
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** All PEM blocks with the given label, in order; DER input is returned as one block. */
export function fromPemAll(data: string | Buffer, label: string): Buffer[] {
  const text = typeof data === "string" ? data : data.toString("latin1");
  if (!text.includes("-----BEGIN")) return typeof data === "string" ? [] : [data];
  const re = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`, "g");
  return [...text.matchAll(re)].map((m) => Buffer.from(m[1].replace(/\s+/g, ""), "base64"));
}

export function fromPem(data: string | Buffer, label: string): Buffer {
  // Common case without a regular expression: the first block is well formed (what fromPemAll would
  // return first, since its body may not contain "-").
  const text = typeof data === "string" ? data : data.toString("latin1");
  const begin = `-----BEGIN ${label}-----`;
  const from = text.indexOf(begin);
  const to = from < 0 ? -1 : text.indexOf(`-----END ${label}-----`, from + begin.length);
  const body = to < 0 ? "" : text.slice(from + begin.length, to);
  if (body.length > 0 && !body.includes("-")) return Buffer.from(body.replace(/\s+/g, ""), "base64");
  const all = fromPemAll(data, label);
  if (all.length === 0) throw new PkiError("bad-input", `expected a PEM "${label}" block, found none`);
  return all[0];
}

/** The longest PEM text that can honestly hold `maxDer` bytes: base64 (4/3), line breaks, headers. */
export function pemTextLimit(maxDer: number): number {
  return maxDer * 2 + 4096;
}

/**
 * The first `label` block of `data` (or `data` itself when DER), refused with "too-large" before any
 * decoding when it cannot be at most `maxDer` bytes of DER: an adversary's megabytes cost nothing.
 */
export function boundedDer(data: string | Buffer, label: string, maxDer: number, what: string): Buffer {
  if (data.length > pemTextLimit(maxDer))
    throw new PkiError(
      "too-large",
      `the ${what} is ${data.length} bytes long; at most ${maxDer} bytes of DER are accepted`,
    );
  const der = fromPem(data, label);
  if (der.length > maxDer)
    throw new PkiError(
      "too-large",
      `the ${what} is ${der.length} bytes of DER; at most ${maxDer} are accepted`,
    );
  return der;
}

/** The extension value parsed with its schema, or undefined when absent. */
export function findExtension<T>(
  exts: x.Extensions | x.Extension[] | undefined,
  oid: string,
  type: new () => T,
): T | undefined {
  const e = exts?.find((ext) => ext.extnID === oid);
  return e ? AsnConvert.parse(e.extnValue, type) : undefined;
}

export function namesOf(san: x.SubjectAlternativeName | undefined): {
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  other: number;
} {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const uris: string[] = [];
  let other = 0;
  for (const gn of san ?? []) {
    if (gn.dNSName !== undefined) dnsNames.push(gn.dNSName.toLowerCase());
    else if (gn.iPAddress !== undefined) ipAddresses.push(gn.iPAddress);
    else if (gn.uniformResourceIdentifier !== undefined) uris.push(gn.uniformResourceIdentifier);
    else other++;
  }
  return { dnsNames, ipAddresses, uris, other };
}

/** A standalone ArrayBuffer copy of a Buffer view (the schemas want ArrayBuffer, node gives Buffer). */
export function toAb(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}
