/**
 * An instance's service certificate: the key is made here, on the node, and written only into the
 * instance directory (group = the partition, mode 0640); the CSR goes to the site over mutual TLS
 * with the computer certificate (POST /services/csr), which names the certificate itself.
 */
import { createPrivateKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createCsr } from "../../lib/pki/csr";
import {
  SERVICE_CSR_ROUTE,
  serviceDnsName,
  serviceLabel,
  type ServiceCsrResponse,
} from "../../lib/agent/protocol";
import { writeFileAtomic } from "./atomic";

export interface CsrPoster {
  post<T>(path: string, body: unknown): Promise<T>;
}

export interface ServiceTlsFiles {
  readonly key: string;
  readonly cert: string;
  readonly chain: string;
}

export const tlsFiles = (instanceDir: string): ServiceTlsFiles => ({
  key: join(instanceDir, "tls", "key.pem"),
  cert: join(instanceDir, "tls", "cert.pem"),
  chain: join(instanceDir, "tls", "chain.pem"),
});

/** Renewal: a certificate with less than this left is replaced. */
const RENEW_MS = 7 * 86_400_000;

/** Makes the key (once) and obtains a certificate when there is none or it is due; returns whether it asked. */
export async function ensureServiceCertificate(
  instanceDir: string,
  instance: string,
  hostname: string,
  site: CsrPoster,
  now = new Date(),
  opts: { readonly force?: boolean } = {},
): Promise<boolean> {
  const f = tlsFiles(instanceDir);
  // force: an operator's renew request (agents/node/requests.ts), whatever time is left
  if (!opts.force && existsSync(f.cert) && existsSync(f.key)) {
    const cert = new X509Certificate(readFileSync(f.cert));
    if (Date.parse(cert.validTo) - now.getTime() > RENEW_MS) return false;
  }
  mkdirSync(join(instanceDir, "tls"), { recursive: true, mode: 0o2750 });
  if (!existsSync(f.key)) {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeFileAtomic(f.key, privateKey.export({ type: "pkcs8", format: "pem" }), 0o640);
  }
  const key = createPrivateKey(readFileSync(f.key));
  const name = serviceDnsName(instance, hostname);
  const csrPem = createCsr({ commonName: name, dnsNames: [name] }, key);
  const r = await site.post<ServiceCsrResponse>(SERVICE_CSR_ROUTE, {
    instance: serviceLabel(instance),
    csrPem,
  });
  writeFileAtomic(f.chain, r.chainPem, 0o644);
  writeFileAtomic(f.cert, r.certificatePem, 0o644);
  return true;
}
