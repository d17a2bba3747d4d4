/**
 * The CRL of the site's own issuing CA. The site holds that CA's key, so it publishes the CRL itself:
 * at start, again when half of the current one's life has passed, and at once after `site revoke`.
 * Verifiers (this site's computer routes included) need it: a chain whose issuer has no CRL is refused.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import {
  checkReason,
  issueCrl,
  normaliseSerial,
  parseCrl,
  type CertificateAuthority,
  type Revocation,
} from "../../lib/pki";
import { files } from "./ca";
import type { SiteConfig } from "./config";

/** @default 7 days, renewed after half of it: a verifier sees a stale CRL only if the site is down for days. */
export const SITE_CRL_LIFETIME_MS = 7 * 86_400_000;

interface RevokedEntry {
  readonly serial: string;
  readonly reason: string;
  readonly at: string;
}

function readRevoked(stateDir: string): RevokedEntry[] {
  const f = files(stateDir).revoked;
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as RevokedEntry[]) : [];
}

/** Writes a new CRL (next number) listing every serial revoked so far; returns its path. */
export function publishSiteCrl(
  config: Pick<SiteConfig, "stateDir">,
  ca: CertificateAuthority,
  now = new Date(),
): string {
  const f = files(config.stateDir);
  const previous = existsSync(f.issuingCrl) ? (parseCrl(readFileSync(f.issuingCrl)).number ?? 0) : 0;
  const revoked: Revocation[] = readRevoked(config.stateDir).map((r) => ({
    serial: r.serial,
    reason: checkReason(r.reason),
    revokedAt: new Date(r.at),
  }));
  const pem = issueCrl(ca, revoked, {
    number: previous + 1,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + SITE_CRL_LIFETIME_MS),
  });
  // Written aside then renamed: a verifier reading the file never sees half a CRL.
  writeFileSync(`${f.issuingCrl}.new`, pem, { mode: 0o644 });
  renameSync(`${f.issuingCrl}.new`, f.issuingCrl);
  return f.issuingCrl;
}

/**
 * Publishes a CRL when there is none, it is another CA's, or half of its life has passed; returns
 * when the next renewal is due (ms since the epoch), so callers need not read the file to know.
 */
export function renewSiteCrlIfDue(
  config: Pick<SiteConfig, "stateDir">,
  ca: CertificateAuthority,
  now = new Date(),
): number {
  const f = files(config.stateDir).issuingCrl;
  const halfLife = (crl: { thisUpdate: Date; nextUpdate?: Date }) =>
    crl.nextUpdate ? (crl.thisUpdate.getTime() + crl.nextUpdate.getTime()) / 2 : 0;
  if (existsSync(f)) {
    const crl = parseCrl(readFileSync(f));
    if (crl.issuerDer.equals(ca.info.subjectDer) && now.getTime() < halfLife(crl)) return halfLife(crl);
  }
  publishSiteCrl(config, ca, now);
  return now.getTime() + SITE_CRL_LIFETIME_MS / 2;
}

/** Records a revocation of a certificate this site issued and publishes the CRL that lists it. */
export function revokeSiteCertificate(
  config: Pick<SiteConfig, "stateDir">,
  ca: CertificateAuthority,
  serial: string,
  reason: string,
): string {
  const entry = {
    serial: normaliseSerial(serial),
    reason: checkReason(reason),
    at: new Date().toISOString(),
  };
  const list = readRevoked(config.stateDir).filter((r) => normaliseSerial(r.serial) !== entry.serial);
  writeFileSync(files(config.stateDir).revoked, JSON.stringify([...list, entry], null, 1), { mode: 0o600 });
  return publishSiteCrl(config, ca);
}
