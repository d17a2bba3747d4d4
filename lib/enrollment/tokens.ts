/**
 * One-time enrollment tokens: the "dynamic authentication" of seed 004. A token is made when an
 * install is armed, handed to the server through its netboot configuration only, bound to the
 * server's PXE MAC, valid once and briefly. The store keeps only a hash of each token, so its
 * file never holds a usable credential; refusals come back as alerts that never contain the token.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export type RefusalReason = "unknown-token" | "expired" | "reused" | "wrong-mac" | "superseded";

export interface TokenRecord {
  readonly serverId: string;
  readonly mac: string;
  /** sha256 of the token, hex. */
  readonly tokenHash: string;
  readonly expiresAt: number;
  usedAt?: number;
  supersededAt?: number;
}

export interface EnrollmentAlert {
  readonly at: number;
  readonly reason: RefusalReason;
  /** The server the token was armed for, when the token was known. */
  readonly serverId?: string;
  /** The MAC the request came with. */
  readonly mac: string;
  readonly detail: string;
}

export type RedeemResult = { ok: true; serverId: string } | { ok: false; alert: EnrollmentAlert };

/** @default 15 minutes: long enough to netboot and write an image, short enough to be useless later. */
export const DEFAULT_TOKEN_TTL_MS = 15 * 60 * 1000;

/** A token record is kept this long after it expired (a reuse is then still named "reused"). */
const FORGET_AFTER_MS = 7 * 86_400_000;

const hash = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");
const normaliseMac = (mac: string) => mac.trim().toLowerCase();

export class TokenStore {
  constructor(
    private readonly records: TokenRecord[] = [],
    private readonly now: () => number = Date.now,
  ) {}

  /** Arms an install: returns the token once; only its hash is kept. Older tokens of the server die. */
  arm(serverId: string, mac: string, ttlMs = DEFAULT_TOKEN_TTL_MS): string {
    const at = this.now();
    // Forget records long dead, so the store (and its file) stays bounded by recent installs.
    for (let i = this.records.length - 1; i >= 0; i--)
      if (this.records[i].expiresAt < at - FORGET_AFTER_MS) this.records.splice(i, 1);
    for (const r of this.records)
      if (r.serverId === serverId && r.usedAt === undefined && r.supersededAt === undefined)
        r.supersededAt = at;
    const token = randomBytes(32).toString("base64url");
    this.records.push({ serverId, mac: normaliseMac(mac), tokenHash: hash(token), expiresAt: at + ttlMs });
    return token;
  }

  /** Consumes a token presented with a MAC. Any refusal is an alert: someone holds a token they should not. */
  redeem(token: string, mac: string): RedeemResult {
    const r = this.redeemWith(token, mac, () => undefined);
    return r.ok ? { ok: true, serverId: r.serverId } : r;
  }

  /**
   * Consumes a token only if `use(serverId)` succeeds: a CSR refused by the CA leaves the token live for
   * a corrected retry. `use` must be synchronous: check, use and consume then run with no await between
   * them, so two concurrent enrollments with one token cannot both succeed (the event loop runs one
   * whole redemption before the other starts). A `use` that throws consumes nothing and rethrows.
   */
  redeemWith<T>(
    token: string,
    mac: string,
    use: (serverId: string) => T,
  ): { ok: true; serverId: string; value: T } | { ok: false; alert: EnrollmentAlert } {
    const at = this.now();
    const record = this.find(token);
    const refuse = (reason: RefusalReason, detail: string) => ({
      ok: false as const,
      alert: { at, reason, serverId: record?.serverId, mac: normaliseMac(mac), detail },
    });
    if (!record) return refuse("unknown-token", "a token this site never issued (or already forgot)");
    if (record.usedAt !== undefined)
      return refuse(
        "reused",
        `token of ${record.serverId} was already used at ${new Date(record.usedAt).toISOString()}`,
      );
    if (record.supersededAt !== undefined)
      return refuse("superseded", `token of ${record.serverId} was replaced by a newer install`);
    if (at > record.expiresAt)
      return refuse(
        "expired",
        `token of ${record.serverId} expired at ${new Date(record.expiresAt).toISOString()}`,
      );
    if (normaliseMac(mac) !== record.mac) {
      // A token seen from the wrong MAC is burnt: whoever copied it must not get a second try.
      record.usedAt = at;
      return refuse("wrong-mac", `token of ${record.serverId} is bound to ${record.mac}`);
    }
    const value = use(record.serverId);
    if (value instanceof Promise)
      throw new TypeError("redeemWith needs a synchronous use(): an await would open a double-spend window");
    record.usedAt = at;
    return { ok: true, serverId: record.serverId, value };
  }

  private find(token: string): TokenRecord | undefined {
    const presented = Buffer.from(hash(token), "hex");
    return this.records.find((r) => timingSafeEqual(Buffer.from(r.tokenHash, "hex"), presented));
  }

  /** Whether a token is armed and still usable, without consuming it (image downloads). */
  isLive(token: string): boolean {
    const r = this.find(token);
    return !!r && r.usedAt === undefined && r.supersededAt === undefined && this.now() <= r.expiresAt;
  }

  /** The records, for persisting (hashes only). */
  toJSON(): readonly TokenRecord[] {
    return this.records;
  }
}
