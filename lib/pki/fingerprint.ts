/**
 * A certificate's SHA-256 fingerprint (hex, over its DER, i.e. the base64 body of its PEM): how
 * state names a certificate it does not need to hold, e.g. the platform root each zeroroot resource
 * was made against (the provider holds the PEM once per stack). Independent of PEM line breaks;
 * it does not parse or judge the certificate (whoever uses it does, once).
 */
import { createHash } from "node:crypto";

const PEM_BODY = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/;

export function certificateSha256(pem: string): string {
  const body = PEM_BODY.exec(pem)?.[1];
  if (body === undefined) throw new Error("not a PEM certificate (no BEGIN/END CERTIFICATE block)");
  return createHash("sha256")
    .update(Buffer.from(body.replace(/\s+/g, ""), "base64"))
    .digest("hex");
}
