/**
 * Revocation as etcd can enforce it. Measured on etcd 3.4.23 (Go 1.19.8), see docs/security.md and
 * test/lab/controlplane/revocation.test.ts:
 *
 * - `--client-crl-file` / `--peer-crl-file` are read again at every TLS handshake: a rewritten file
 *   refuses new connections at once, without a restart;
 * - connections already open stay open after their certificate is revoked: a rolling restart of the
 *   members closes them (each client reconnects and is refused at its handshake);
 * - only the FIRST CRL of the file is read (a concatenation of several CAs' CRLs silently ignores all
 *   but the first), and etcd checks neither that CRL's issuer nor its signature nor its nextUpdate: it
 *   refuses any presented certificate (leaf or issuing CA) whose serial number the CRL lists;
 * - a missing or unparsable file refuses every client (fail closed).
 *
 * So etcd gets one list: the union of the serials revoked by the newest CRL of each CA we trust (root
 * and issuing CAs), each CRL verified here against its CA first (a forged CRL is refused, so whoever can
 * write a CRL file or the `/crl/` keys cannot lock the fleet out). The list is written in the only format
 * etcd reads, a CRL, signed by a throw-away key: etcd does not look at the signature, and nobody else
 * reads this file. Serials are 128-bit random, so a serial of one CA matching one of another is not a
 * practical concern (and would only refuse, never admit).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createRootCa, issueCrl, parseCertificate, parseCrl, type Revocation } from "../../lib/pki";
import { newestCrl } from "../../lib/pki/verify-crl";
import { verifySignature } from "../../lib/pki/csr";

export interface RevocationInput {
  /** Certificates of the CAs whose CRLs count: the root and every issuing CA (PEM, one or more each). */
  readonly caPems: readonly string[];
  /** CRLs (PEM) of those CAs; several of one CA may be given, the newest by CRL number wins. */
  readonly crlPems: readonly string[];
  /** @default - now */
  readonly at?: Date;
}

export interface EtcdRevocationList {
  /** The file content for --client-crl-file / --peer-crl-file. */
  readonly pem: string;
  /** Every revoked serial (normalised hex), sorted. */
  readonly serials: readonly string[];
  /** Per CA whose CRL was used: its CN, CRL number, and whether that CRL is past its nextUpdate. */
  readonly sources: readonly { readonly ca: string; readonly number?: number; readonly stale: boolean }[];
}

/** Builds etcd's list; throws when a CRL names none of the CAs or is not signed by the CA it names. */
export function etcdRevocationList(input: RevocationInput): EtcdRevocationList {
  const at = input.at ?? new Date();
  const cas = input.caPems.flatMap((p) => splitPem(p)).map((p) => parseCertificate(p));
  const crls = input.crlPems.flatMap((c) => splitPem(c, "X509 CRL")).map((c) => parseCrl(c));
  // A CRL counts for the CA that signed it: two CAs may share a subject name, never a key.
  const signs = (ca: (typeof cas)[number], c: (typeof crls)[number]): boolean =>
    ca.subjectDer.equals(c.issuerDer) &&
    verifySignature(c.signatureAlgorithm, c.tbsDer, ca.publicKey, c.signature);
  for (const c of crls)
    if (!cas.some((ca) => signs(ca, c)))
      throw new Error(
        `a CRL (number ${c.number ?? "none"}) is signed by none of the ${cas.length} CAs given; a forged or foreign CRL is not passed to etcd`,
      );
  const revoked = new Map<string, Revocation>();
  const sources: { ca: string; number?: number; stale: boolean }[] = [];
  for (const ca of cas) {
    const crl = newestCrl(
      crls.filter((c) => signs(ca, c)),
      ca.subjectDer,
    );
    if (!crl) continue;
    sources.push({ ca: ca.commonName, number: crl.number, stale: !!crl.nextUpdate && at > crl.nextUpdate });
    for (const [serial, reason] of crl.revoked)
      revoked.set(serial, { serial, reason, revokedAt: crl.thisUpdate });
  }
  const signer = createRootCa({ commonName: "zeroroot etcd revocation list (signature unused)" }).ca;
  const serials = [...revoked.keys()].sort();
  const pem = issueCrl(signer, [...revoked.values()], {
    number: Math.floor(at.getTime() / 1000),
    thisUpdate: at,
  });
  return { pem, serials, sources };
}

/** Writes the list atomically (a handshake never reads half a file), readable by the members. */
export function writeEtcdRevocationList(file: string, list: EtcdRevocationList): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, list.pem, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

/** The PEM blocks of `label` in `text` (a bundle of certificates or CRLs). */
function splitPem(text: string, label = "CERTIFICATE"): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, "g");
  return text.match(re)?.map((b) => `${b}\n`) ?? [];
}
