/**
 * The data center's issuing CA, as the site holds it: its key is made here and never leaves the
 * state directory; only a CSR goes to the root (ceremony or the global stack's IssuingCa resource).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createCsr,
  exportPkcs8,
  generateKeyPair,
  issueFromCsr,
  loadCa,
  loadPrivateKey,
  parseCertificate,
  type CertificateAuthority,
} from "../../lib/pki";
import { siteHostname, type SiteConfig } from "./config";

export const files = (stateDir: string) => ({
  issuingKey: join(stateDir, "issuing.key"),
  issuingCsr: join(stateDir, "issuing.csr"),
  issuingCert: join(stateDir, "issuing.crt"),
  siteKey: join(stateDir, "site.key"),
  siteCert: join(stateDir, "site.crt"),
});

/** Makes the issuing CA key and CSR once; later calls return the same CSR. */
export function initIssuingCa(config: SiteConfig): string {
  const f = files(config.stateDir);
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  if (existsSync(f.issuingCsr) && existsSync(f.issuingKey)) return readFileSync(f.issuingCsr, "utf8");
  const keys = generateKeyPair("ec-p256");
  writeFileSync(f.issuingKey, exportPkcs8(keys.privateKey), { mode: 0o600 });
  const csr = createCsr({ commonName: `zeroroot issuing CA ${config.dataCenter}` }, keys.privateKey);
  writeFileSync(f.issuingCsr, csr, { mode: 0o644 });
  return csr;
}

/** Installs the root-signed issuing certificate, refusing one that does not match our key. */
export function installIssuingCertificate(config: SiteConfig, certificatePem: string): CertificateAuthority {
  const f = files(config.stateDir);
  const ca = loadCa(certificatePem, readFileSync(f.issuingKey));
  writeFileSync(f.issuingCert, certificatePem, { mode: 0o644 });
  return ca;
}

export interface SiteIdentity {
  readonly ca: CertificateAuthority;
  readonly rootPem: string;
  /** Issuing CA certificate then root: what clients need to build a path. */
  readonly chainPem: string;
  readonly tls: { readonly key: string; readonly cert: string };
}

/** Loads the CA and the site's own TLS identity, issuing the latter (service profile) when missing or due. */
export function loadSiteIdentity(config: SiteConfig): SiteIdentity {
  const f = files(config.stateDir);
  if (!existsSync(f.issuingCert))
    throw new Error(
      `no issuing CA certificate at ${f.issuingCert}: run \`site init\`, have the root sign ${f.issuingCsr}, then \`site install-ca\``,
    );
  const ca = loadCa(readFileSync(f.issuingCert, "utf8"), readFileSync(f.issuingKey));
  const rootPem = readFileSync(config.rootCertificatePath, "utf8");
  const fresh =
    existsSync(f.siteCert) &&
    parseCertificate(readFileSync(f.siteCert, "utf8")).notAfter.getTime() - Date.now() > 7 * 86_400_000;
  if (!fresh) {
    const keys = generateKeyPair("ec-p256");
    const csr = createCsr(
      {
        commonName: siteHostname(config),
        dnsNames: [siteHostname(config)],
        ipAddresses: [...config.addresses],
      },
      keys.privateKey,
    );
    const issued = issueFromCsr(ca, "service", csr);
    writeFileSync(f.siteKey, exportPkcs8(keys.privateKey), { mode: 0o600 });
    writeFileSync(f.siteCert, issued.certificatePem + ca.certificatePem, { mode: 0o644 });
  }
  loadPrivateKey(readFileSync(f.siteKey));
  return {
    ca,
    rootPem,
    chainPem: ca.certificatePem + rootPem,
    tls: { key: readFileSync(f.siteKey, "utf8"), cert: readFileSync(f.siteCert, "utf8") },
  };
}
