/**
 * What the site remembers: servers and their install phase, token hashes, alerts. Written to
 * the state directory after every change so a restart loses nothing; tokens only as hashes.
 * Netboot configurations (which carry the one usable copy of a token) stay in memory until
 * fetched once, like a TFTP file removed after the boot.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TokenStore, type EnrollmentAlert, type TokenRecord } from "../../lib/enrollment";
import type { NetbootConfig, ServerStatus } from "../../lib/site";

interface Persisted {
  servers: Record<string, ServerStatus & { hostname: string }>;
  tokens: TokenRecord[];
}

export class Registry {
  readonly tokens: TokenStore;
  private readonly state: Persisted;
  private readonly netboot = new Map<string, NetbootConfig>();

  constructor(private readonly stateDir: string) {
    const file = join(stateDir, "registry.json");
    this.state = existsSync(file)
      ? (JSON.parse(readFileSync(file, "utf8")) as Persisted)
      : { servers: {}, tokens: [] };
    this.tokens = new TokenStore(this.state.tokens);
  }

  save(): void {
    writeFileSync(join(this.stateDir, "registry.json"), JSON.stringify(this.state, null, 1), { mode: 0o600 });
  }

  server(id: string): (ServerStatus & { hostname: string }) | undefined {
    return this.state.servers[id];
  }

  serverByMac(mac: string): (ServerStatus & { hostname: string }) | undefined {
    return Object.values(this.state.servers).find((s) => s.mac === mac.toLowerCase());
  }

  upsert(status: ServerStatus & { hostname: string }): void {
    this.state.servers[status.serverId] = status;
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
  ): void {
    appendFileSync(
      join(this.stateDir, "alerts.jsonl"),
      JSON.stringify({ ...alert, at: new Date(alert.at).toISOString() }) + "\n",
      { mode: 0o600 },
    );
  }

  alerts(): unknown[] {
    const file = join(this.stateDir, "alerts.jsonl");
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown);
  }
}
