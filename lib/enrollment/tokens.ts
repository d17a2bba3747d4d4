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
    for (const r of this.records)
      if (r.serverId === serverId && r.usedAt === undefined && r.supersededAt === undefined)
        r.supersededAt = at;
    const token = randomBytes(32).toString("base64url");
    this.records.push({ serverId, mac: normaliseMac(mac), tokenHash: hash(token), expiresAt: at + ttlMs });
    return token;
  }

  /** Consumes a token presented with a MAC. Any refusal is an alert: someone holds a token they should not. */
  redeem(token: string, mac: string): RedeemResult {
    const at = this.now();
    const presented = Buffer.from(hash(token), "hex");
    const record = this.records.find((r) => timingSafeEqual(Buffer.from(r.tokenHash, "hex"), presented));
    const refuse = (reason: RefusalReason, detail: string): RedeemResult => ({
      ok: false,
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
    record.usedAt = at;
    return { ok: true, serverId: record.serverId };
  }

  /** Whether a token is armed and still usable, without consuming it (image downloads). */
  isLive(token: string): boolean {
    const presented = Buffer.from(hash(token), "hex");
    const r = this.records.find((x) => timingSafeEqual(Buffer.from(x.tokenHash, "hex"), presented));
    return !!r && r.usedAt === undefined && r.supersededAt === undefined && this.now() <= r.expiresAt;
  }

  /** The records, for persisting (hashes only). */
  toJSON(): readonly TokenRecord[] {
    return this.records;
  }
}
