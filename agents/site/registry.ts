/**
 * What the site remembers: servers and their install phase, token hashes, alerts. Written to
 * the state directory after every change so a restart loses nothing; tokens only as hashes.
 * Netboot configurations (which carry the one usable copy of a token) stay in memory until
 * fetched once, like a TFTP file removed after the boot.
 *
 * Servers are kept in a Map, never a plain object: a lookup by an untrusted name (`__proto__`,
 * `constructor`) finds nothing rather than Object.prototype's machinery.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TokenStore, type EnrollmentAlert, type TokenRecord } from "../../lib/enrollment";
import type { NetbootConfig, ServerStatus } from "../../lib/site";

export type ServerRecord = ServerStatus & { hostname: string };

/** The file's shape (unchanged from earlier releases): servers as an object keyed by id. */
interface Persisted {
  servers: Record<string, ServerRecord>;
  tokens: TokenRecord[];
}

/** Most alerts kept on disk; past it new ones are only logged, so refusals cannot fill the disk. */
export const MAX_ALERTS_BYTES = 8 * 1024 * 1024;

export class Registry {
  readonly tokens: TokenStore;
  private readonly servers = new Map<string, ServerRecord>();
  private readonly tokenRecords: TokenRecord[];
  private readonly netboot = new Map<string, NetbootConfig>();

  constructor(private readonly stateDir: string) {
    const file = join(stateDir, "registry.json");
    const state = existsSync(file)
      ? (JSON.parse(readFileSync(file, "utf8")) as Persisted)
      : { servers: {}, tokens: [] };
    for (const [id, s] of Object.entries(state.servers ?? {})) this.servers.set(id, s);
    this.tokenRecords = Array.isArray(state.tokens) ? state.tokens : [];
    this.tokens = new TokenStore(this.tokenRecords);
  }

  /** Written aside then renamed, so a crash mid-write leaves the previous registry whole. */
  save(): void {
    const file = join(this.stateDir, "registry.json");
    const persisted: Persisted = { servers: Object.fromEntries(this.servers), tokens: this.tokenRecords };
    writeFileSync(`${file}.new`, JSON.stringify(persisted, null, 1), { mode: 0o600 });
    renameSync(`${file}.new`, file);
  }

  server(id: string): ServerRecord | undefined {
    return this.servers.get(id);
  }

  /** Every registered server id (the timestamp service vouches for their desired state). */
  ids(): string[] {
    return [...this.servers.keys()];
  }

  serverByMac(mac: string): ServerRecord | undefined {
    return [...this.servers.values()].find((s) => s.mac === mac.toLowerCase());
  }

  upsert(status: ServerRecord): void {
    this.servers.set(status.serverId, status);
    this.save();
  }

  offerNetboot(mac: string, config: NetbootConfig): void {
    this.netboot.set(mac.toLowerCase(), config);
  }

  /** Hands a netboot configuration out once. */
  takeNetboot(mac: string): NetbootConfig | undefined {
    const c = this.netboot.get(mac.toLowerCase());
    this.netboot.delete(mac.toLowerCase());
    return c;
  }

  alert(
    alert: EnrollmentAlert | { at: number; reason: string; mac?: string; serverId?: string; detail: string },
  ): boolean {
    const file = join(this.stateDir, "alerts.jsonl");
    if (existsSync(file) && statSync(file).size > MAX_ALERTS_BYTES) return false;
    appendFileSync(
      join(this.stateDir, "alerts.jsonl"),
      JSON.stringify({ ...alert, at: new Date(alert.at).toISOString() }) + "\n",
      { mode: 0o600 },
    );
    return true;
  }

  /** The newest `limit` alerts, oldest first. */
  alerts(limit = 1000): unknown[] {
    const file = join(this.stateDir, "alerts.jsonl");
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .slice(-limit)
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as unknown];
        } catch {
          return []; // a line cut short by a crash mid-append
        }
      });
  }
}
