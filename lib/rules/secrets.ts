/** Recognisers for secret material in plain values. Pure. */

/** Key names that hold passwords, tokens or keys (case-insensitive, separators ignored). */
export const DEFAULT_SECRET_KEY_PATTERNS: readonly string[] = [
  "password",
  "passwd",
  "passphrase",
  "pwd",
  "secret",
  "token",
  "apikey",
  "accesskey",
  "privatekey",
  "credential",
];

/**
 * Keys whose values are public by construction even though they look random: digests, signatures,
 * certificates, CSRs, public keys. They are still scanned for private-key PEM blocks.
 */
export const DEFAULT_PUBLIC_KEY_PATTERNS: readonly string[] = [
  "digest",
  "hash",
  "sha256",
  "fingerprint",
  "signature",
  "certificate",
  "csr",
  "publickey",
  "__provider",
];

const norm = (k: string) => k.toLowerCase().replace(/[-_.\s]/g, "");

/** Which pattern a key name matches, if any. `passwordHash` matches neither list specially: it is a hash. */
export function matchesKey(key: string, patterns: readonly string[]): string | undefined {
  const n = norm(key);
  return patterns.find((p) => n.includes(norm(p)));
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * True for a token-like string: one word (no spaces), long enough, high entropy, mixing character
 * classes. Paths, URLs, host names and dotted versions are excluded: they are long but not secret.
 */
export function looksLikeSecretToken(s: string, minLength: number, minEntropy: number): boolean {
  if (s.length < minLength || /\s/.test(s)) return false;
  if (/^(\/|\.\/|[a-z][a-z0-9+.-]*:\/\/)/i.test(s)) return false; // paths and URLs
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d{1,5})?$/i.test(s) && !/[A-Z]/.test(s)) return false; // host names (with a port), versions
  if (/^[0-9a-f:.]+$/i.test(s) && s.includes(":")) return false; // MACs, IPv6
  if (/^[A-Za-z]{1,6}=[^=]/.test(s)) return false; // distinguished names, key=value settings
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(s)).length;
  if (classes < 2) return false;
  return shannonEntropy(s) >= minEntropy;
}

// A header followed by a base64 body: a bare header string (e.g. in serialised parser code of a
// dynamic provider) is not key material. Newlines may be real or escaped (`\n` in serialised code).
const PRIVATE_KEY_PEM =
  /-----BEGIN (?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----(?:\\[rn]|\s)*(?:Proc-Type:[^\n]*\n(?:[^\n]*\n)*?)?[A-Za-z0-9+/=]{40}/;

/**
 * True when the text holds a PEM private key block (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8, OpenSSH,
 * legacy encrypted PEM).
 */
export function containsPrivateKeyPem(s: string): boolean {
  return PRIVATE_KEY_PEM.test(s);
}
