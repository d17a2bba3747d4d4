/**
 * Who may sign what. A certificate that chains to the root with the right EKU proves who signed; this
 * list says what that signer is allowed to sign: release names (for software releases) and data
 * centers (for desired-state documents). The two grants are separate on purpose: an administrator who
 * may publish MariaDB releases cannot thereby order a computer to run anything.
 *
 * File form (JSON):
 *   { "signers": [
 *       { "commonName": "alice", "releases": ["mariadb", "neo-*"] },
 *       { "fingerprint": "sha256:3f…", "releases": ["*"] },
 *       { "commonName": "control-plane-dc1", "desiredState": ["dc1"] } ] }
 */
import * as crypto from "node:crypto";

/** One signer and what it may sign. Exactly one of commonName / fingerprint identifies it. */
export interface AuthorisedSigner {
  /** Subject CN of the signer's certificate (meaningful only because the chain to the root is verified). */
  readonly commonName?: string;
  /** SHA-256 of the signer certificate's DER: `sha256:<hex>` or openssl's `AB:CD:…` form. Pins one certificate. */
  readonly fingerprint?: string;
  /** Release-name patterns this signer may sign (`*` matches any run of characters). @default - none */
  readonly releases?: readonly string[];
  /** Data-center patterns whose computers' desired state this signer may sign. @default - none */
  readonly desiredState?: readonly string[];
}

export interface AuthorisationList {
  readonly signers: readonly AuthorisedSigner[];
}

export class AuthorisationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthorisationError";
  }
}

/** Validates an authorisation list read from a file (`where` names the file in messages). */
export function parseAuthorisationList(data: unknown, where = "authorisation list"): AuthorisationList {
  const fix = `write {"signers": [{"commonName": "alice", "releases": ["mariadb-*"]}]}`;
  if (typeof data !== "object" || data === null || !Array.isArray((data as { signers?: unknown }).signers)) {
    throw new AuthorisationError(`${where}: expected an object with a "signers" array; ${fix}`);
  }
  const signers = (data as { signers: unknown[] }).signers.map((s, i) =>
    parseSigner(s, `${where}: signers[${i}]`),
  );
  return { signers };
}

function parseSigner(s: unknown, where: string): AuthorisedSigner {
  if (typeof s !== "object" || s === null)
    throw new AuthorisationError(`${where}: expected an object, got ${JSON.stringify(s)}`);
  const o = s as Record<string, unknown>;
  const unknownKey = Object.keys(o).find(
    (k) => !["commonName", "fingerprint", "releases", "desiredState"].includes(k),
  );
  if (unknownKey)
    throw new AuthorisationError(
      `${where}: unknown key "${unknownKey}"; allowed: commonName, fingerprint, releases, desiredState`,
    );
  const hasCn = typeof o.commonName === "string" && o.commonName !== "";
  const hasFp = typeof o.fingerprint === "string";
  if (hasCn === hasFp)
    throw new AuthorisationError(`${where}: give exactly one of "commonName" or "fingerprint"`);
  const patterns = (k: "releases" | "desiredState") => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((p) => typeof p === "string" && /^[A-Za-z0-9._*-]+$/.test(p))) {
      throw new AuthorisationError(
        `${where}.${k}: expected a list of name patterns (letters, digits, . _ - and *), got ${JSON.stringify(v)}`,
      );
    }
    return v as string[];
  };
  const releases = patterns("releases");
  const desiredState = patterns("desiredState");
  if (!releases && !desiredState)
    throw new AuthorisationError(`${where}: grants nothing; add "releases" and/or "desiredState"`);
  const fingerprint = hasFp
    ? normaliseFingerprint(o.fingerprint as string, `${where}.fingerprint`)
    : undefined;
  return { commonName: hasCn ? (o.commonName as string) : undefined, fingerprint, releases, desiredState };
}

/** `sha256:<lowercase hex>` from either that form or openssl's colon-separated upper-case form. */
export function normaliseFingerprint(text: string, where = "fingerprint"): string {
  const hex = text
    .trim()
    .toLowerCase()
    .replace(/^sha256:/, "")
    .replace(/:/g, "");
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new AuthorisationError(
      `${where}: "${text}" is not a SHA-256 fingerprint; allowed: sha256:<64 hex> or AB:CD:… (openssl x509 -fingerprint -sha256)`,
    );
  }
  return `sha256:${hex}`;
}

/** SHA-256 fingerprint of a certificate's DER, in the form the list uses. */
export function certificateFingerprint(der: Buffer): string {
  return `sha256:${crypto.createHash("sha256").update(der).digest("hex")}`;
}

/** True when `name` matches `pattern`, where `*` stands for any run of characters (also none). */
export function matchesPattern(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, "\\$&"))
      .join(".*")}$`,
  );
  return re.test(name);
}

/** The entries of `list` that name this signer (by CN or by fingerprint). */
export function entriesFor(
  list: AuthorisationList,
  signer: { commonName: string; der: Buffer },
): AuthorisedSigner[] {
  const fp = certificateFingerprint(signer.der);
  return list.signers.filter((s) =>
    s.commonName !== undefined ? s.commonName === signer.commonName : s.fingerprint === fp,
  );
}

/** Whether the signer may sign `name` under grant `what`. */
export function isAuthorised(
  list: AuthorisationList,
  signer: { commonName: string; der: Buffer },
  what: "releases" | "desiredState",
  name: string,
): boolean {
  return entriesFor(list, signer).some((s) => (s[what] ?? []).some((p) => matchesPattern(p, name)));
}
