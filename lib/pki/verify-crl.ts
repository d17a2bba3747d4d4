/**
 * Revocation for verifyCertificate: of the CRLs given for one issuer the newest wins (highest CRL
 * number, then latest thisUpdate), so an old CRL handed over with a new one cannot hide a revocation;
 * every CRL of that issuer must carry its signature; a stale one refuses unless the caller asked to be
 * told instead (strictCrl false), in which case it is reported.
 */
import type { CertInfo } from "./cert";
import { normaliseSerial, parseCrl, type ParsedCrl } from "./crl";
import { verifySignature } from "./csr";
import { MAX_CRLS, type VerifyFailure } from "./errors";
import { escapeForMessage } from "./identity";

/** A CRL past its nextUpdate that was used anyway (VerifyOptions.strictCrl false). */
export interface StaleCrl {
  /** Common name of the CA that issued the CRL. */
  readonly issuer: string;
  readonly number?: number;
  readonly nextUpdate: Date;
}

/** CRL extensions this verifier processes; any other one marked critical refuses the CRL (RFC 5280 5.2). */
const KNOWN_CRL_EXTENSIONS = new Set([
  "2.5.29.20", // cRLNumber
  "2.5.29.35", // authorityKeyIdentifier
  "2.5.29.21", // reasonCode (entry)
]);

type Refusal = { readonly ok: false; readonly reason: VerifyFailure; readonly detail: string };
const refuse = (reason: VerifyFailure, detail: string): Refusal => ({ ok: false, reason, detail });

export function parseCrls(data: readonly (string | Buffer)[]): ParsedCrl[] | Refusal {
  if (data.length > MAX_CRLS)
    return refuse("too-large", `${data.length} CRLs given; at most ${MAX_CRLS} are read`);
  try {
    return data.map((c) => parseCrl(c));
  } catch (err) {
    const e = err as Error & { code?: string };
    return refuse(e.code === "too-large" ? "too-large" : "malformed", e.message);
  }
}

/** The newest of `crls` issued under `issuerDer`: highest CRL number (none counts lowest), then latest thisUpdate. */
export function newestCrl(crls: readonly ParsedCrl[], issuerDer: Buffer): ParsedCrl | undefined {
  let best: ParsedCrl | undefined;
  for (const c of crls) {
    if (!c.issuerDer.equals(issuerDer)) continue;
    const n = c.number ?? -1;
    const b = best?.number ?? -1;
    if (!best || n > b || (n === b && c.thisUpdate > best.thisUpdate)) best = c;
  }
  return best;
}

/** Checks `path` (leaf first) against the CRLs; `stale` collects the stale CRLs used when not strict. */
export function checkRevocation(
  path: readonly CertInfo[],
  anchor: CertInfo,
  crls: readonly ParsedCrl[],
  at: Date,
  strict: boolean,
  stale: StaleCrl[],
): Refusal | undefined {
  const issuers = [...path.slice(1), anchor];
  for (let i = 0; i < path.length; i++) {
    const issuer = issuers[i];
    const name = escapeForMessage(issuer.commonName);
    const mine = crls.filter((c) => c.issuerDer.equals(path[i].issuerDer));
    // The leaf's issuer must publish a CRL; intermediates are checked when the root's CRL is given.
    if (mine.length === 0) {
      if (i === 0) return refuse("crl-missing", `no CRL of "${name}" was given`);
      continue;
    }
    // Every CRL claiming this issuer must be its own: a forged one is an attack, refused loudly.
    const forged = mine.find(
      (c) => !verifySignature(c.signatureAlgorithm, c.tbsDer, issuer.publicKey, c.signature),
    );
    if (forged)
      return refuse(
        "crl-bad-signature",
        `a CRL naming "${name}" (number ${forged.number ?? "none"}) is not signed by it`,
      );
    const crl = newestCrl(mine, path[i].issuerDer) as ParsedCrl;
    const unknown = crl.criticalExtensions.find((o) => !KNOWN_CRL_EXTENSIONS.has(o));
    if (unknown)
      return refuse(
        "unknown-critical-extension",
        `the CRL of "${name}" has critical extension ${unknown}, which this verifier does not process`,
      );
    if (crl.nextUpdate && at > crl.nextUpdate) {
      const what = `the newest CRL of "${name}" (number ${crl.number ?? "none"}) is stale since ${crl.nextUpdate.toISOString()}`;
      if (strict) return refuse("crl-expired", `${what}; publish a new one (zeroroot pki crl)`);
      stale.push({ issuer: issuer.commonName, number: crl.number, nextUpdate: crl.nextUpdate });
    }
    const reason = crl.revoked.get(normaliseSerial(path[i].serial));
    if (reason)
      return refuse(
        "revoked",
        `"${escapeForMessage(path[i].commonName)}" (serial ${path[i].serial}) is revoked: ${reason}`,
      );
  }
  return undefined;
}
