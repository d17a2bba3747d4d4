/**
 * Who may sign what. A certificate that chains to the root as a software signer proves who signed,
 * as an identity (issuing data center, kind, name); this list says what that identity is allowed to
 * sign: release names (for software releases) and data centers (for desired-state documents). The
 * two grants are separate on purpose: an administrator who may publish MariaDB releases cannot
 * thereby order a computer to run anything.
 *
 * A signer is named by its identity, `dc1/software/alice`, so that a certificate named "alice" from
 * another data center's CA is not alice; or by the fingerprint of one certificate. A common name
 * alone names nobody (any data center's CA can issue one).
 *
 * File form (JSON):
 *   { "signers": [
 *       { "identity": "dc1/software/alice", "releases": ["mariadb", "neo-*"] },
 *       { "fingerprint": "sha256:3f…", "releases": ["*"] },
 *       { "identity": "dc1/software/state-signer", "desiredState": ["dc1"] } ] }
 */
import * as crypto from "node:crypto";
import { escapeForMessage, formatIdentity, parseIdentity, sameIdentity, type Identity } from "../pki";

/** One signer and what it may sign. Exactly one of identity / fingerprint identifies it. */
export interface AuthorisedSigner {
  /** The signer's identity; its kind is always software. */
  readonly identity?: Identity;
  /** SHA-256 of the signer certificate's DER: `sha256:<hex>`. Pins one certificate. */
  readonly fingerprint?: string;
  /** Release-name patterns this signer may sign (`*` matches any run of characters). @default - none */
  readonly releases?: readonly string[];
  /** Data-center patterns whose computers' desired state this signer may sign. @default - none */
  readonly desiredState?: readonly string[];
}

export interface AuthorisationList {
  readonly signers: readonly AuthorisedSigner[];
}

/** A verified signer: its identity (from verifyIdentity) and its certificate's DER. */
export interface SignerIdentity {
  readonly identity: Identity;
  readonly der: Buffer;
}

export class AuthorisationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthorisationError";
  }
}

/** Entries and patterns per entry, at most: a list is written by people, not generated without end. */
export const AUTHORISATION_LIMITS = { signers: 1000, patterns: 256 } as const;

const KEYS = ["identity", "fingerprint", "releases", "desiredState"];
const EXAMPLE = `{"signers": [{"identity": "dc1/software/alice", "releases": ["mariadb-*"]}]}`;

/** Validates an authorisation list read from a file (`where` names the file in messages). */
export function parseAuthorisationList(data: unknown, where = "authorisation list"): AuthorisationList {
  const signers = (data as { signers?: unknown } | null)?.signers;
  if (typeof data !== "object" || data === null || !Array.isArray(signers))
    throw new AuthorisationError(`${where}: expected an object with a "signers" array; write ${EXAMPLE}`);
  if (signers.length > AUTHORISATION_LIMITS.signers)
    throw new AuthorisationError(
      `${where}: signers: ${signers.length} entries; at most ${AUTHORISATION_LIMITS.signers}`,
    );
  return { signers: signers.map((s, i) => parseSigner(s, `${where}: signers[${i}]`)) };
}

function parseSigner(s: unknown, where: string): AuthorisedSigner {
  if (typeof s !== "object" || s === null || Array.isArray(s))
    throw new AuthorisationError(`${where}: expected an object, got ${shown(s)}`);
  const o = s as Record<string, unknown>;
  if (Object.hasOwn(o, "commonName"))
    throw new AuthorisationError(
      `${where}.commonName: a common name alone no longer names a signer (any data center's CA can issue one); replace "commonName": ${shown(o.commonName)} with "identity": "<data center of the CA that issued it>/software/<name>", e.g. "dc1/software/alice", or pin the certificate with "fingerprint"`,
    );
  const unknownKey = Object.keys(o).find((k) => !KEYS.includes(k));
  if (unknownKey !== undefined)
    throw new AuthorisationError(
      `${where}: unknown key "${escapeForMessage(unknownKey)}"; allowed: ${KEYS.join(", ")}`,
    );
  if ((o.identity === undefined) === (o.fingerprint === undefined))
    throw new AuthorisationError(
      `${where}: give exactly one of "identity" (e.g. "dc1/software/alice") or "fingerprint"`,
    );
  let identity: Identity | undefined;
  if (o.identity !== undefined) {
    const id = parseIdentity(o.identity);
    if (typeof id === "string") throw new AuthorisationError(`${where}.identity: ${id}`);
    if (id.kind !== "software")
      throw new AuthorisationError(
        `${where}.identity: "${formatIdentity(id)}" is a ${id.kind} identity; only software-signing certificates sign releases and desired state: write "${id.dataCenter}/software/<name>"`,
      );
    identity = id;
  }
  const fingerprint =
    o.fingerprint === undefined ? undefined : normaliseFingerprint(o.fingerprint, `${where}.fingerprint`);
  const releases = patterns(o.releases, `${where}.releases`);
  const desiredState = patterns(o.desiredState, `${where}.desiredState`);
  if (!releases && !desiredState)
    throw new AuthorisationError(`${where}: grants nothing; add "releases" and/or "desiredState"`);
  return { identity, fingerprint, releases, desiredState };
}

function patterns(v: unknown, where: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (
    !Array.isArray(v) ||
    v.length > AUTHORISATION_LIMITS.patterns ||
    !v.every((p) => typeof p === "string" && /^[A-Za-z0-9._*-]{1,128}$/.test(p))
  )
    throw new AuthorisationError(
      `${where}: expected a list of at most ${AUTHORISATION_LIMITS.patterns} name patterns (letters, digits, . _ - and *), got ${shown(v)}`,
    );
  return v as string[];
}

/** `sha256:<lowercase hex>` from either that form or openssl's colon-separated upper-case form. */
export function normaliseFingerprint(text: unknown, where = "fingerprint"): string {
  const hex =
    typeof text === "string"
      ? text
          .trim()
          .toLowerCase()
          .replace(/^sha256:/, "")
          .replace(/:/g, "")
      : "";
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new AuthorisationError(
      `${where}: ${shown(text)} is not a SHA-256 fingerprint; allowed: sha256:<64 hex> or AB:CD:… (openssl x509 -fingerprint -sha256)`,
    );
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

/** The entries of `list` that name this signer: by its full identity, or by its certificate. */
export function entriesFor(list: AuthorisationList, signer: SignerIdentity): AuthorisedSigner[] {
  const fp = certificateFingerprint(signer.der);
  return list.signers.filter((s) =>
    s.identity !== undefined ? sameIdentity(s.identity, signer.identity) : s.fingerprint === fp,
  );
}

/** Whether the signer may sign `name` under grant `what`. */
export function isAuthorised(
  list: AuthorisationList,
  signer: SignerIdentity,
  what: "releases" | "desiredState",
  name: string,
): boolean {
  return entriesFor(list, signer).some((s) => (s[what] ?? []).some((p) => matchesPattern(p, name)));
}

/** A received value for a message: JSON, cut at 100 characters, control and non-ASCII characters escaped. */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  const cut = text.length > 100 ? `${text.slice(0, 100)}...` : text;
  return cut.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
