/**
 * Step 2 of a client kit: the signed certificate comes back. Before anything is written it is
 * verified as every datastore will verify it (verifyIdentity against the root: chain, validity, EKU
 * clientAuth, name constraints) and must speak for exactly the identity asked for, user kind, name
 * and data center, and belong to the key made in step 1. A refusal says which of these failed.
 */
import * as crypto from "node:crypto";
import * as pki from "../pki";
import { toPem } from "../pki/asn";
import { KitError } from "./errors";

export interface AcceptArgs {
  readonly user: string;
  readonly dataCenter: string;
  /** The certificate file's text: the user's certificate first (a bundle with its issuer is fine). */
  readonly certPem: string;
  /** The issuing CA's certificate (the ceremony's `<dc>/chain.pem`, with or without the root). */
  readonly chainPem?: string;
  readonly rootPem: string;
  /** The key of step 1 (PKCS#8 PEM). */
  readonly keyPem: string;
  /** @default - now */
  readonly at?: Date;
}

export interface AcceptedCertificate {
  readonly identity: pki.Identity;
  readonly notAfter: Date;
  readonly serial: string;
  /** The user's certificate then its issuing CA, as TLS clients send them. */
  readonly chainPem: string;
  readonly rootPem: string;
  readonly privateKey: crypto.KeyObject;
}

/** Hints for the refusals a user meets most, keyed by verifyIdentity's reason. */
const HINTS: Partial<Record<string, string>> = {
  expired:
    "ask the CA holder for a new certificate (step 1's CSR can be signed again) and run step 2 with it",
  "not-yet-valid": "check this machine's clock, or wait until the certificate's start date",
  "untrusted-root":
    "give the chain of the issuing CA that signed it (--chain <ceremony>/<dc>/chain.pem) and the platform's root (--root)",
  "wrong-data-center": "run the kit with the --dc of the certificate, or ask that data center's CA holder",
  "wrong-kind":
    "a datastore accepts user certificates only; ask for one signed with `zeroroot pki sign --kind user`",
  "wrong-eku": "the certificate is not for client authentication; ask for a user certificate",
};

export function acceptCertificate(a: AcceptArgs): AcceptedCertificate {
  let privateKey: crypto.KeyObject;
  try {
    privateKey = pki.loadPrivateKey(a.keyPem);
  } catch (err) {
    throw new KitError(`the key of step 1 cannot be read: ${(err as Error).message}`);
  }
  const chain = [a.certPem, ...(a.chainPem === undefined ? [] : [a.chainPem])];
  const r = pki.verifyIdentity(chain, a.rootPem, {
    use: "clientAuth",
    at: a.at,
    expect: { dataCenters: [a.dataCenter], kinds: ["user"] },
  });
  if (!r.ok) {
    const hint = HINTS[r.reason];
    throw new KitError(`the certificate is refused (${r.reason}): ${r.detail}${hint ? `; ${hint}` : ""}`);
  }
  if (r.identity.name !== a.user)
    throw new KitError(
      `the certificate is refused (wrong-user): it speaks for ${pki.formatIdentity(r.identity)}, not ${a.dataCenter}/user/${a.user}; give ${a.user}'s own certificate`,
    );
  const spki = crypto.createPublicKey(privateKey).export({ type: "spki", format: "der" });
  if (!spki.equals(r.leaf.spkiDer))
    throw new KitError(
      `the certificate is refused (wrong-key): its public key is not the key of step 1 (${a.user}.key); it was issued from another CSR: send ${a.user}.csr of this kit directory to be signed`,
    );
  return {
    identity: r.identity,
    notAfter: r.leaf.notAfter,
    serial: r.leaf.serial,
    chainPem: r.path.map((c) => toPem(c.der, "CERTIFICATE")).join(""),
    rootPem: toPem(pki.parseCertificate(a.rootPem).der, "CERTIFICATE"),
    privateKey,
  };
}
