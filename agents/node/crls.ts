/**
 * The CRLs the node verifies with: the files trust.json names (read at start, trusted as installed)
 * plus the bundle its site publishes at `GET /crls`, fetched at start, every CRL_REFRESH_MS, and soon
 * after a verification failed for want of a current CRL. Each bundle is screened (lib/agent/crl-screen)
 * before use: a CRL that does not parse, or claims a CA the node holds without its signature, is dropped
 * with an alert and the rest is used. The last screened bundle is kept on disk for an offline start,
 * and screened again when read back (the disk is not trusted more than the site).
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { screenCrls, type ScreenedCrls } from "../../lib/agent/crl-screen";
import { fromPemAll } from "../../lib/pki/asn";
import type { CertInfo } from "../../lib/pki";
import { MAX_CRL_BUNDLE_BYTES } from "../../lib/site/schemas";
import type { Alert } from "./alerts";
import { writeFileAtomic } from "./atomic";

/** @default 10 minutes: a revocation published at the site reaches its nodes within that. */
export const CRL_REFRESH_MS = 10 * 60_000;
/** Longest the agent's start waits for the site's CRLs. */
export const CRL_START_WAIT_MS = 5_000;
/** Least time between two fetches asked for by failed verifications (a refusal storm fetches once). */
export const CRL_RETRY_MIN_MS = 60_000;
/** The verification failures that a newer CRL may cure. */
// lib/release and lib/desired-state report all three as "crl-unusable".
export const CRL_FAILURES: ReadonlySet<string> = new Set(["crl-missing", "crl-expired", "crl-unusable"]);

export interface CrlSource {
  crls(): Promise<string[]>;
}

export interface SiteCrlsOptions {
  readonly stateDir: string;
  /** The CA certificates the node holds (root, its own issuing CA): CRLs claiming them must carry their signature. */
  readonly cas: readonly CertInfo[];
  /** PEM CRLs of trust.json's crlFiles. */
  readonly fixed: readonly string[];
  readonly site?: CrlSource;
  readonly alert: (dedupe: string, a: Omit<Alert, "at" | "computerId">) => void;
  readonly log: (msg: string) => void;
  readonly now?: () => number;
}

export class SiteCrls {
  readonly file: string;
  private held: readonly string[] = [];
  private lastFetch = -Infinity;
  private fetching?: Promise<void>;

  constructor(private readonly opts: SiteCrlsOptions) {
    this.file = join(opts.stateDir, "site-crls.pem");
    this.held = this.readStored();
  }

  /** What verification uses now; undefined when there is none at all (no revocation check configured). */
  current(): readonly string[] | undefined {
    const all = [...this.opts.fixed, ...this.held];
    return all.length > 0 ? all : undefined;
  }

  /** Fetches and screens the site's bundle; keeps what it holds when the site cannot be reached. */
  refresh(): Promise<void> {
    this.fetching ??= this.fetch().finally(() => (this.fetching = undefined));
    return this.fetching;
  }

  /**
   * The fetch at start, waited for at most CRL_START_WAIT_MS: a site that does not answer must not hold
   * the node's start (the bundle held on disk is used meanwhile, and the fetch goes on).
   */
  async refreshAtStart(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((r) => (timer = setTimeout(r, CRL_START_WAIT_MS)));
    await Promise.race([this.refresh(), waited]);
    clearTimeout(timer);
  }

  /** After a verification failed with `reason`: fetches again if a newer CRL may cure it. */
  failed(reason: string | undefined): void {
    const now = (this.opts.now ?? Date.now)();
    if (reason && CRL_FAILURES.has(reason) && now - this.lastFetch >= CRL_RETRY_MIN_MS) void this.refresh();
  }

  private async fetch(): Promise<void> {
    const site = this.opts.site;
    if (!site) return;
    this.lastFetch = (this.opts.now ?? Date.now)();
    let received: string[];
    try {
      received = await site.crls();
    } catch (e) {
      this.opts.log(`site CRLs not fetched (${(e as Error).message}); keeping the ${this.held.length} held`);
      return;
    }
    // Held first: of one issuer's CRLs the newest wins, so a site serving an older one rolls nothing back.
    const s = screenCrls([...this.held, ...received], this.opts.cas);
    this.alertDropped(s, "site", this.held.length);
    if (s.crls.join("") === this.held.join("")) return;
    this.held = s.crls;
    writeFileAtomic(this.file, s.crls.join(""), 0o644);
    this.opts.log(`site CRLs updated: ${s.crls.length} issuer(s), kept in ${this.file}`);
  }

  private readStored(): string[] {
    const size = statSync(this.file, { throwIfNoEntry: false })?.size;
    if (size === undefined) return [];
    if (size > MAX_CRL_BUNDLE_BYTES) {
      this.alertDropped(
        { crls: [], dropped: [{ index: -1, reason: `${size} bytes, over ${MAX_CRL_BUNDLE_BYTES}` }] },
        "stored",
        0,
      );
      return [];
    }
    const s = screenCrls(fromPemAll(readFileSync(this.file, "latin1"), "X509 CRL"), this.opts.cas);
    this.alertDropped(s, "stored", 0);
    return [...s.crls];
  }

  private alertDropped(s: ScreenedCrls, from: "site" | "stored", offset: number): void {
    for (const d of s.dropped) {
      const where =
        from === "stored"
          ? `a CRL of ${this.file}`
          : d.index >= offset
            ? `CRL ${d.index - offset + 1} of the site's bundle`
            : "a CRL of the site's bundle";
      this.opts.alert(`crl-refused:${from}:${d.reason}`, {
        kind: "crl-refused",
        severity: "critical",
        detail: `${where} is not used: ${d.reason}; verification goes on with the other CRLs`,
        evidence: { source: from, reason: d.reason },
      });
    }
  }
}
