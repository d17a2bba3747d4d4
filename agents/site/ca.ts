/**
 * The data center's issuing CA, as the site holds it: its key is made here and never leaves the
 * state directory; only a CSR goes to the root (ceremony or the global stack's IssuingCa resource).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createCsr,
  dataCenterOfCa,
  escapeForMessage,
  exportPkcs8,
  kindsOfCa,
  generateKeyPair,
  ONLINE_CA_PERMITTED_KINDS,
  issueFromCsr,
  loadCa,
  loadPrivateKey,
  parseCertificate,
  type CertificateAuthority,
  type CertInfo,
  type LeafKind,
  writeFileAtomic,
} from "../../lib/pki";
import { siteHostname, type SiteConfig } from "./config";

export const files = (stateDir: string) => ({
  issuingKey: join(stateDir, "issuing.key"),
  issuingCsr: join(stateDir, "issuing.csr"),
  issuingCert: join(stateDir, "issuing.crt"),
  siteKey: join(stateDir, "site.key"),
  siteCert: join(stateDir, "site.crt"),
  /** The CRL of the site's issuing CA, made by the site (agents/site/crl.ts). */
  issuingCrl: join(stateDir, "issuing.crl"),
  /** Serials the site has revoked (`site revoke`). */
  revoked: join(stateDir, "revoked.json"),
});

/**
 * What an online issuing CA may mint: computers, services and (for users' jobs, minutes long) job
 * certificates. A site key is on a networked machine, so the root must not give it users
 * (operators) or software signers; its name constraints say so (lib/pki ONLINE_CA_PERMITTED_KINDS).
 */
export const SITE_CA_KINDS: readonly LeafKind[] = ONLINE_CA_PERMITTED_KINDS;

/**
 * Why `info` cannot be this site's issuing CA, or undefined: it must speak for this data center's zone
 * and permit no kind but SITE_CA_KINDS (the root signs it with nameScope.kinds; see docs/site.md).
 */
export function issuingCaProblem(
  config: Pick<SiteConfig, "dataCenter" | "domain">,
  info: CertInfo,
): string | undefined {
  const dc = dataCenterOfCa(info);
  const zone = `${config.dataCenter}.${config.domain}`;
  if (typeof dc === "string") return dc;
  if (dc.zone !== zone)
    return `the issuing CA certificate speaks for zone ${escapeForMessage(dc.zone)}, not ${zone}: have the root sign this site's CSR for data center ${config.dataCenter}`;
  const extra = kindsOfCa(info, dc.zone).filter((k) => !SITE_CA_KINDS.includes(k));
  if (extra.length > 0)
    return `the issuing CA certificate may issue ${extra.join(", ")} certificates; a site's online CA may issue only ${SITE_CA_KINDS.join(" and ")}: have the root sign this site's CSR again with its kinds limited to those (Authorisation nameScope.kinds ${JSON.stringify(SITE_CA_KINDS)})`;
  return undefined;
}

/** Makes the issuing CA key and CSR once; later calls return the same CSR. */
export function initIssuingCa(config: SiteConfig): string {
  const f = files(config.stateDir);
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  if (existsSync(f.issuingCsr) && existsSync(f.issuingKey)) return readFileSync(f.issuingCsr, "utf8");
  const keys = generateKeyPair("ec-p256");
  writeFileAtomic(f.issuingKey, exportPkcs8(keys.privateKey));
  const csr = createCsr({ commonName: `zeroroot issuing CA ${config.dataCenter}` }, keys.privateKey);
  writeFileSync(f.issuingCsr, csr, { mode: 0o644 });
  return csr;
}

/** Installs the root-signed issuing certificate, refusing one that does not match our key. */
export function installIssuingCertificate(config: SiteConfig, certificatePem: string): CertificateAuthority {
  const f = files(config.stateDir);
  const ca = loadCa(certificatePem, readFileSync(f.issuingKey));
  const problem = issuingCaProblem(config, ca.info);
  if (problem) throw new Error(`site install-ca: ${problem}`);
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
  const problem = issuingCaProblem(config, ca.info);
  if (problem) throw new Error(`site: ${f.issuingCert}: ${problem}`);
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
    writeFileAtomic(f.siteKey, exportPkcs8(keys.privateKey));
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
