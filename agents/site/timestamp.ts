/**
 * The data center's timestamp service (TUF's timestamp role): re-signs, on a short period, a
 * freshness statement for the current desired-state document of each of its computers, next to the
 * document (`/computers/<id>/freshness`). Nodes apply a document only while such a statement vouches
 * for it (lib/desired-state/freshness.ts), so the operator's document can live long while a frozen
 * control plane is still noticed within a day.
 *
 * Its identity (dcN, service, `timestamp.dcN.<domain>`) is issued by the site's own CA, its key made
 * here and kept in the state directory; the same certificate authenticates the loop to etcd, whose
 * role for it reads its computers' documents and writes their statements only (lib/controlplane/plan).
 * It vouches only for a document it verified itself (signature, authorised signer, this data center,
 * this computer) and never for a version below one it vouched for: it cannot change what runs.
 */
import { createPublicKey } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { keys, type ClientIdentity, type WatchHandle, type WatchHandlers } from "../../lib/controlplane";
import {
  signFreshness,
  timestampName,
  verifyDesiredStateText,
  FRESHNESS_LIMITS,
} from "../../lib/desired-state";
import {
  createCsr,
  exportPkcs8,
  generateKeyPair,
  issueFromCsr,
  loadPrivateKey,
  parseCertificate,
  renewalDue,
  PROFILES,
  type CertificateAuthority,
  type CertInfo,
  writeFileAtomic,
} from "../../lib/pki";
import { parseAuthorisationList, type AuthorisationList, type Signer } from "../../lib/release";
import type { SiteIdentity } from "./ca";
import type { SiteConfig } from "./config";
import type { Registry } from "./registry";

export const timestampFiles = (stateDir: string) => ({
  key: join(stateDir, "timestamp.key"),
  cert: join(stateDir, "timestamp.crt"),
});

export interface TimestampIdentity {
  readonly name: string;
  readonly signer: Signer;
  /** The same certificate as the loop's etcd client identity (its etcd user is its CN). */
  readonly client: ClientIdentity;
}

/** Loads the timestamp identity, issuing it from the site's CA when missing, due or from another CA. */
export function loadTimestampIdentity(
  config: Pick<SiteConfig, "dataCenter" | "domain" | "stateDir">,
  ca: CertificateAuthority,
  rootPem: string,
  now = new Date(),
): TimestampIdentity {
  const f = timestampFiles(config.stateDir);
  const name = timestampName(`${config.dataCenter}.${config.domain}`);
  const current =
    existsSync(f.cert) && existsSync(f.key) ? parseCertificate(readFileSync(f.cert)) : undefined;
  const paired = (c: CertInfo) =>
    createPublicKey(loadPrivateKey(readFileSync(f.key)))
      .export({ type: "spki", format: "der" })
      .equals(c.spkiDer);
  if (
    !current ||
    !paired(current) ||
    current.commonName !== name ||
    !current.issuerDer.equals(ca.info.subjectDer) ||
    renewalDue(current.notAfter, PROFILES.service, now)
  ) {
    const k = generateKeyPair("ec-p256");
    const issued = issueFromCsr(ca, "service", createCsr({ commonName: name }, k.privateKey), {
      commonName: name,
    });
    // key then certificate, each written aside and renamed: a restart never pairs a new key with an old certificate
    writeFileAtomic(f.key, exportPkcs8(k.privateKey));
    writeFileAtomic(f.cert, issued.certificatePem, 0o644);
  }
  const keyPem = readFileSync(f.key, "utf8");
  const certificatePem = readFileSync(f.cert, "utf8");
  return {
    name,
    signer: { privateKey: loadPrivateKey(keyPem), certificatePem, chainPem: ca.certificatePem },
    client: {
      trustAnchorsPem: rootPem,
      certificateChainPem: certificatePem + ca.certificatePem,
      privateKeyPem: keyPem,
    },
  };
}

/** What the loop needs of the control plane (ControlPlaneClient has it). */
export interface StatementStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  watch(key: string, handlers: WatchHandlers): Promise<WatchHandle>;
}

export interface TimestampLoopOptions {
  readonly dataCenter: string;
  readonly signer: Signer;
  readonly store: StatementStore;
  /** This data center's computers (the site's registry). */
  readonly computers: () => readonly string[];
  /** Who may sign desired state (the nodes' trust list): the loop vouches only for what nodes would accept. */
  readonly trust: { readonly root: string; readonly authorisation: AuthorisationList };
  /** @default - FRESHNESS_LIMITS.lifetimeSeconds; shorter in tests */
  readonly lifetimeSeconds?: number;
  readonly log: (msg: string) => void;
}

interface Stamped {
  readonly version: number;
  readonly digest: string;
  readonly renewAt: number;
}

export class TimestampLoop {
  private readonly stamped = new Map<string, Stamped>();
  private readonly watches = new Map<string, WatchHandle>();
  private readonly refused = new Set<string>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private failure?: string;
  private readonly lifetimeMs: number;

  constructor(private readonly o: TimestampLoopOptions) {
    this.lifetimeMs = (o.lifetimeSeconds ?? FRESHNESS_LIMITS.lifetimeSeconds) * 1000;
  }

  /** The loop's period: a quarter of a statement's life, at most a minute (new computers are picked up then). */
  get periodMs(): number {
    return Math.min(this.lifetimeMs * FRESHNESS_LIMITS.renewFraction, 60_000);
  }

  start(): void {
    const tick = async () => {
      await this.scan().then(
        () => (this.failure = undefined),
        (e: unknown) => {
          // logged when the cause changes, not every period of a long outage
          const msg = (e as Error).message;
          if (msg !== this.failure)
            this.o.log(`timestamp: scan failed (retrying every ${this.periodMs / 1000} s): ${msg}`);
          this.failure = msg;
        },
      );
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.periodMs);
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all([...this.watches.values()].map((w) => w.cancel().catch(() => undefined)));
  }

  /**
   * Stamps every computer whose statement is missing, for another document, or due; returns how many.
   * One computer the control plane refuses (say, a decommissioned server still in the registry) must
   * not stop the others: failures are collected and reported together after every computer was tried.
   */
  async scan(now = new Date()): Promise<number> {
    let n = 0;
    const failed: string[] = [];
    for (const id of this.o.computers()) {
      if (this.stopped) break;
      try {
        if (!this.watches.has(id)) {
          // a new document is vouched for at once, not at the next scan: nodes hold it until then
          const w = await this.o.store.watch(keys.desired(id), {
            onPut: () =>
              void this.stamp(id).catch((e: unknown) =>
                this.o.log(`timestamp: ${id}: ${(e as Error).message}`),
              ),
          });
          this.watches.set(id, w);
        }
        if (await this.stamp(id, now)) n++;
      } catch (e) {
        failed.push(`${id}: ${(e as Error).message}`);
      }
    }
    if (failed.length) throw new Error(`${failed.length} computer(s) not vouched for: ${failed.join("; ")}`);
    return n;
  }

  /** Reads the computer's document and signs a statement when due; true when one was written. */
  async stamp(id: string, now = new Date()): Promise<boolean> {
    const text = await this.o.store.get(keys.desired(id));
    if (text === undefined) return false;
    const v = verifyDesiredStateText(text, {
      root: this.o.trust.root,
      authorisedSigners: this.o.trust.authorisation,
      node: { dataCenter: this.o.dataCenter, kind: "computer", name: id },
      now,
    });
    const last = this.stamped.get(id);
    if (!v.ok || (last && v.document.version < last.version)) {
      const why = v.ok
        ? `version ${v.document.version} is below version ${last?.version}, already vouched for`
        : `${v.reason}: ${v.detail}`;
      if (!this.refused.has(`${id}:${why}`))
        this.o.log(`timestamp: not vouching for ${id}'s desired state (${why.slice(0, 300)})`);
      this.refused.add(`${id}:${why}`);
      return false;
    }
    const d = v.document;
    if (last && last.version === d.version && last.digest === v.digest && now.getTime() < last.renewAt)
      return false;
    const signed = signFreshness(
      {
        computerId: id,
        dataCenter: this.o.dataCenter,
        version: d.version,
        digest: v.digest,
        lifetimeSeconds: this.lifetimeMs / 1000,
        now,
      },
      this.o.signer,
    );
    await this.o.store.put(keys.freshness(id), JSON.stringify(signed));
    const renewAt = now.getTime() + this.lifetimeMs * FRESHNESS_LIMITS.renewFraction;
    this.stamped.set(id, { version: d.version, digest: v.digest, renewAt });
    return true;
  }
}

/**
 * Starts the loop when the site knows the control plane and the nodes' trust list (its `node`
 * bootstrap settings); otherwise says why not and returns undefined: nodes with requireFreshness
 * then hold every new document, which the log line explains.
 */
export function startTimestampService(
  config: SiteConfig,
  site: SiteIdentity,
  registry: Registry,
  log: (msg: string) => void,
  connect: (endpoints: readonly string[], identity: ClientIdentity) => StatementStore & { close(): void },
): { stop(): Promise<void> } | undefined {
  const endpoints = config.node?.controlPlaneEndpoints;
  if (!endpoints?.length || config.node?.trust === undefined) {
    log(
      "timestamp: not started (node.controlPlaneEndpoints and node.trust are needed): no freshness statements are published",
    );
    return undefined;
  }
  let id: TimestampIdentity;
  let store: StatementStore & { close(): void };
  try {
    id = loadTimestampIdentity(config, site.ca, site.rootPem);
    store = connect(endpoints, id.client);
  } catch (e) {
    log(`timestamp: not started: ${(e as Error).message}`);
    return undefined;
  }
  const loop = new TimestampLoop({
    dataCenter: config.dataCenter,
    signer: id.signer,
    store,
    computers: () => registry.ids(),
    trust: {
      root: site.rootPem,
      authorisation: parseAuthorisationList(config.node.trust, "site config node.trust"),
    },
    lifetimeSeconds: config.timestamp?.lifetimeSeconds,
    log,
  });
  loop.start();
  log(
    `timestamp: vouching for desired state as ${config.dataCenter}/service/${id.name}, statements valid ${config.timestamp?.lifetimeSeconds ?? FRESHNESS_LIMITS.lifetimeSeconds} s, renewed every ${loop.periodMs / 1000} s at most`,
  );
  return {
    stop: async () => {
      await loop.stop();
      store.close();
    },
  };
}
