/**
 * The Galera harness's certificate authorities (lab/releases/mariadb-galera/harness.ts): a real
 * ceremony (a root and one issuing CA per data center), leaves issued through its register so they
 * can be revoked, and the CRLs published as the platform does: each data center's "site" is
 * `openssl s_server -WWW` in the harness's client namespace serving `GET /crls` with a certificate
 * of that data center's CA, and each member's tls/crls.pem holds its own data center's CRLs only.
 */
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chownSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mariadbDn } from "../../../lib/datastores/mariadb-galera";
import {
  createCsr,
  crlFromCeremony,
  exportPkcs8,
  generateKeyPair,
  initCeremony,
  openCa,
  issueFromCsr,
  revokeInCeremony,
  signWithCeremony,
  type ProfileName,
} from "../../../lib/pki";

export const HARNESS_DOMAIN = "zeroroot.test";
/** Everything the harness starts runs as `nobody`. */
export const NOBODY = 65534;
const PASS = "harness-ceremony-passphrase";
/** The harness's sites serve CRLs on the client namespace's address, one port per data center. */
export const SITE_PORT_BASE = 8440;

/** A member as the CRL publishing sees it: its data center and its instance directory. */
export interface CrlHolder {
  readonly dc: string;
  readonly instanceDir: string;
}

export const siteName = (dc: string): string => `site.${dc}.${HARNESS_DOMAIN}`;

/** The ceremony at `pki` for the data centers `dcs`, made once. */
export function ensureCeremony(pki: string, dcs: string[]): void {
  if (!existsSync(join(pki, "ceremony.json")))
    initCeremony({ dir: pki, domain: HARNESS_DOMAIN, dcs, passphrase: PASS });
}

/** The DN MariaDB requires as issuer of `dc`'s users: its ceremony CA's subject. */
export function userIssuerDn(pki: string, dc: string): string {
  return mariadbDn(new X509Certificate(readFileSync(join(pki, dc, "ca.pem"))).subject);
}

/** Issues a leaf of `kind` from `dc`'s CA; `now` in the past gives an expired one. */
export function issueLeaf(
  pki: string,
  dc: string,
  kind: ProfileName,
  name: string,
  opts: { dnsNames?: string[]; now?: Date; validityDays?: number } = {},
): { key: string; cert: string; chain: string; serial: string } {
  const keys = generateKeyPair();
  const csr = createCsr({ commonName: name, dnsNames: opts.dnsNames }, keys.privateKey);
  const auth = { commonName: name, dnsNames: opts.dnsNames, validityDays: opts.validityDays };
  // Through the ceremony's register (so it can be revoked), unless back-dated.
  const issued = opts.now
    ? issueFromCsr(openCa(pki, dc, PASS), kind, csr, auth, { now: opts.now })
    : signWithCeremony(pki, dc, PASS, kind, csr, auth);
  const chain = readFileSync(join(pki, dc, "chain.pem"), "utf8");
  return {
    key: exportPkcs8(keys.privateKey).toString(),
    cert: issued.certificatePem,
    chain,
    serial: issued.serial,
  };
}

/**
 * Makes fresh CRLs of the root and every data-center CA; each site (its directory from `siteDir`)
 * serves the root's and its own, and each member's tls/crls.pem gets the same (as the agent keeps its
 * own site's bundle). Another data center's CRL reaches a member only by the release fetching it
 * from that site.
 */
export function publishCrls(
  pki: string,
  members: readonly CrlHolder[],
  siteDir: (dc: string) => string,
): void {
  const root = crlFromCeremony(pki, "root", PASS);
  for (const m of members) {
    const crls = [root, crlFromCeremony(pki, m.dc, PASS)];
    const site = siteDir(m.dc);
    mkdirSync(site, { recursive: true });
    writeFileSync(join(site, "crls.new"), JSON.stringify({ crls }));
    renameSync(join(site, "crls.new"), join(site, "crls"));
    const f = join(m.instanceDir, "tls", "crls.pem");
    writeFileSync(`${f}.new`, crls.join(""), { mode: 0o644 });
    chownSync(`${f}.new`, NOBODY, NOBODY);
    renameSync(`${f}.new`, f);
  }
}

/** Revokes a certificate the ceremony issued (by serial); the caller publishes the CRLs. */
export function revokeLeaf(pki: string, serial: string): void {
  revokeInCeremony(pki, serial, "keyCompromise");
}

/**
 * Each data center's site: its CRLs at `GET /crls` over TLS, with a certificate of its CA, on
 * `<subnet>.100:<SITE_PORT_BASE + n>` in namespace `clientNs` (n = 1 for the first member's).
 */
export function startSites(
  pki: string,
  members: readonly CrlHolder[],
  site: { clientNs: string; subnet: string; siteDir: (dc: string) => string },
): void {
  members.forEach((m, i) => {
    const dir = site.siteDir(m.dc);
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, "cert.pem"))) {
      const issued = issueLeaf(pki, m.dc, "service", siteName(m.dc), { dnsNames: [siteName(m.dc)] });
      writeFileSync(join(dir, "key.pem"), issued.key, { mode: 0o600 });
      writeFileSync(join(dir, "cert.pem"), issued.cert);
      writeFileSync(join(dir, "chain.pem"), issued.chain);
    }
    const accept = `${site.subnet}.100:${SITE_PORT_BASE + i + 1}`;
    const out = openSync(join(dir, "s_server.log"), "a");
    spawn(
      "ip",
      [
        "netns",
        "exec",
        site.clientNs,
        "openssl",
        "s_server",
        "-quiet",
        "-WWW",
        "-accept",
        accept,
        "-cert",
        "cert.pem",
        "-key",
        "key.pem",
        "-cert_chain",
        "chain.pem",
      ],
      { detached: true, stdio: ["ignore", out, out], cwd: dir },
    ).unref();
  });
}
