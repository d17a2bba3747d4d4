/**
 * Screening the CRLs a node receives from its site before they reach verification. lib/pki's verify
 * refuses a chain when any CRL naming one of its issuers is malformed or not signed by it (fail closed),
 * so a CRL handed over unscreened is a lever: a compromised site could stop every release and desired
 * state with one forged CRL. Here each CRL must parse, stay within the size bound, and, when its issuer
 * is a CA the node holds (the root, its own issuing CA), carry that CA's signature; anything else is
 * dropped with a reason (the caller alerts). Of several CRLs of one issuer only the newest is kept
 * (CRL number, then thisUpdate: the rule of lib/pki), so a site serving an older CRL cannot roll a
 * revocation back as long as the node holds the newer one.
 */
import { fromPem, fromPemAll, toPem } from "../pki/asn";
import { parseCertificate, type CertInfo } from "../pki/cert";
import { parseCrl, type ParsedCrl } from "../pki/crl";
import { verifySignature } from "../pki/csr";
import { MAX_CRLS } from "../pki/errors";
import { escapeForMessage } from "../pki/identity";

export interface ScreenedCrls {
  /** PEM CRLs to verify with, at most one per issuer. */
  readonly crls: readonly string[];
  /** What was dropped and why (escaped, for an alert). */
  readonly dropped: readonly { readonly index: number; readonly reason: string }[];
}

/** The CA certificates a node holds and can check a CRL's signature against: PEM bundles. */
export function knownCas(...pemBundles: readonly string[]): CertInfo[] {
  return pemBundles
    .flatMap((b) => fromPemAll(b, "CERTIFICATE"))
    .map((der) => parseCertificate(der))
    .filter((c) => c.isCa);
}

/**
 * Screens `received` (PEM or DER CRLs, newest source last) against `cas`. A CRL of an issuer the node
 * does not hold (an offline CA) cannot be checked here: it is kept, and verify checks its signature
 * against the issuer in the chain it is used for (docs/agent.md: the residual risk).
 */
export function screenCrls(received: readonly (string | Buffer)[], cas: readonly CertInfo[]): ScreenedCrls {
  const dropped: { index: number; reason: string }[] = [];
  const best = new Map<string, { crl: ParsedCrl; pem: string }>();
  received.forEach((item, index) => {
    if (index >= MAX_CRLS * 2)
      return dropped.push({ index, reason: `over ${MAX_CRLS * 2} CRLs received; the rest is not read` });
    let crl: ParsedCrl;
    try {
      crl = parseCrl(item);
    } catch (err) {
      return dropped.push({ index, reason: escapeForMessage((err as Error).message) });
    }
    const issuer = cas.find((c) => c.subjectDer.equals(crl.issuerDer));
    if (issuer && !verifySignature(crl.signatureAlgorithm, crl.tbsDer, issuer.publicKey, crl.signature))
      return dropped.push({
        index,
        reason: `names "${escapeForMessage(issuer.commonName)}" as its issuer but is not signed by it (forged)`,
      });
    const key = crl.issuerDer.toString("hex");
    const held = best.get(key)?.crl;
    const n = crl.number ?? -1;
    const h = held?.number ?? -1;
    if (!held || n > h || (n === h && crl.thisUpdate > held.thisUpdate))
      best.set(key, { crl, pem: pemOf(item) });
  });
  const crls = [...best.values()].map((b) => b.pem);
  if (crls.length > MAX_CRLS) {
    for (let i = MAX_CRLS; i < crls.length; i++)
      dropped.push({ index: -1, reason: `more than ${MAX_CRLS} issuers; CRL ${i + 1} is not kept` });
    crls.length = MAX_CRLS;
  }
  return { crls, dropped };
}

/** The CRL as one canonical PEM block (what is stored and served again), whatever form it came in. */
function pemOf(item: string | Buffer): string {
  return toPem(fromPem(item, "X509 CRL"), "X509 CRL");
}
