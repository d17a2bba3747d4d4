/** Helpers of the site tests: raw HTTPS requests that never throw on a status, and forged leaves. */
import { strict as assert } from "node:assert";
import { request } from "node:https";
import { encodeCertificate } from "../../../lib/pki/ca-encode";
import { randomSerial } from "../../../lib/pki/ca-sign";
import { toPem } from "../../../lib/pki/asn";
import { parseCsr } from "../../../lib/pki/csr";
import { keyIdentifierOfDer } from "../../../lib/pki/ca-encode";
import {
  createCsr,
  exportPkcs8,
  generateKeyPair,
  profileFor,
  type CertificateAuthority,
  type LeafKind,
} from "../../../lib/pki";
import { SiteError, type TlsIdentity } from "../../../lib/site";
import type { SiteFixture } from "../../helpers/site-fixture";

export interface RawAnswer {
  readonly status: number;
  readonly body: string;
}

/** One request with exactly these headers and body; resolves with whatever status the site answers. */
export function raw(
  site: SiteFixture,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; identity?: TlsIdentity } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${site.url}${path}`,
      {
        method,
        headers: opts.headers,
        ca: site.rootPem,
        servername: site.serverName,
        cert: opts.identity?.certificateChainPem,
        key: opts.identity?.privateKeyPem,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

export const json = (value: unknown) => ({
  headers: { "content-type": "application/json" },
  body: typeof value === "string" ? value : JSON.stringify(value),
});

export const rejectsWith = (p: Promise<unknown>, status: number, text?: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SiteError, String(e));
    assert.equal(e.status, status, e.message);
    if (text) assert.match(e.message, text);
    return true;
  });

export const csrFor = (cn: string, dns: string[] = []) =>
  createCsr({ commonName: cn, dnsNames: dns }, generateKeyPair().privateKey);

/**
 * What a compromised CA can sign, bypassing every check issuance makes: a `kind` leaf named `name`
 * carrying `uri` as its identity URI, signed with `ca`'s key.
 */
export function forgeLeaf(ca: CertificateAuthority, kind: LeafKind, name: string, uri: string): TlsIdentity {
  const keys = generateKeyPair();
  const csr = parseCsr(createCsr({ commonName: name }, keys.privateKey));
  const now = Date.now();
  const der = encodeCertificate({ encoder: "library" }, ca, profileFor(kind), {
    serial: randomSerial(),
    notBefore: new Date(now - 300_000),
    notAfter: new Date(now + 86_400_000),
    commonName: name,
    organization: undefined,
    csr,
    subjectKeyId: keyIdentifierOfDer(csr),
    dnsNames: [],
    ipAddresses: [],
    uris: [uri],
    scope: undefined,
  });
  return {
    certificateChainPem: toPem(Buffer.from(der as ArrayBuffer), "CERTIFICATE") + ca.certificatePem,
    privateKeyPem: exportPkcs8(keys.privateKey).toString(),
  };
}
