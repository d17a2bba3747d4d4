/**
 * What the agent's parts share: its configuration and trust, its state (in memory and on disk), the
 * instance specs of the last document, the refusals and usage it reports, and its alert queue.
 */
import type { InstanceSpec } from "../../lib/contracts/resources";
import { partitionPaths } from "../../lib/hardening/partitions";
import type { Identity } from "../../lib/pki";
import type { AuthorisationList } from "../../lib/release";
import { AnomalyDetector, type PartitionUsage, type Thresholds } from "../../lib/agent/anomaly";
import type { AgentConfig } from "../../lib/agent/config";
import { nodeIdentity } from "../../lib/agent/identity";
import { PartitionSupervisors } from "./partitions";
import type { StoredTrust } from "../../lib/agent/local-state";
import type { AgentState, InstanceRecord } from "../../lib/agent/state";
import { knownCas } from "../../lib/agent/crl-screen";
import { AlertQueue, type Alert, type AlertLink } from "./alerts";
import { SiteCrls, type CrlSource } from "./crls";
import { readVerifiedState } from "./local";
import type { CsrPoster } from "./service-cert";
import { StateStore } from "./store";

export interface AgentDeps {
  readonly config: AgentConfig;
  readonly rootPem: string;
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  readonly trust: { readonly authorisation: AuthorisationList; readonly crls: readonly string[] };
  /** The site, for service certificates. @default - none: instances with TLS ports get an alert */
  readonly site?: CsrPoster;
  /** The site's CRL bundle (`GET /crls`). @default - none: only trust.json's CRL files, and the bundle held on disk */
  readonly crlSite?: CrlSource;
  readonly log: (msg: string) => void;
}

/** Usage per partition user, as reported at /computers/<id>/report/usage. */
export type UsageByPartition = Record<string, PartitionUsage & { instance: string }>;

export class AgentContext {
  readonly cfg: AgentConfig;
  /** This computer, from its own verified certificate: the only target desired state may name. */
  readonly node: Identity;
  readonly store: StateStore;
  state: AgentState;
  /** The instances of the document last reconciled, by name. */
  specs = new Map<string, InstanceSpec>();
  readonly refusals = new Map<string, { reason: string; detail: string }>();
  readonly detector: AnomalyDetector;
  usage: UsageByPartition = {};
  readonly alerts: AlertQueue;
  /** trust.json's CRL files and the site's screened bundle (crls.ts). */
  readonly siteCrls: SiteCrls;
  /** The partitions' supervisords, started and stopped by PID 1 at the agent's request. */
  readonly partitions: PartitionSupervisors;
  /**
   * The last freshness statement accepted (kept in memory: after a restart the first statement read
   * sets it again). Its issuedAt refuses replays of older ones; its expiresAt tells an offline node
   * when its state stopped being vouched for.
   */
  freshness?: { readonly version: number; readonly issuedAt: string; readonly expiresAt: string };

  constructor(
    readonly deps: AgentDeps,
    link: AlertLink,
  ) {
    this.cfg = deps.config;
    this.node = nodeIdentity(deps.certificateChainPem, deps.rootPem, this.cfg.serverId);
    this.detector = new AnomalyDetector(this.cfg.anomaly as Partial<Thresholds>);
    this.alerts = new AlertQueue(this.cfg.serverId, deps.log, link);
    this.store = new StateStore(this.cfg.paths.stateDir);
    this.siteCrls = new SiteCrls({
      stateDir: this.cfg.paths.stateDir,
      cas: knownCas(deps.rootPem, deps.certificateChainPem),
      fixed: deps.trust.crls,
      site: deps.crlSite,
      alert: (k, a) => this.alert(k, a),
      log: deps.log,
    });
    this.state = readVerifiedState(this.store, this.trust(), (k, a) => this.alert(k, a));
    this.partitions = new PartitionSupervisors(
      this.cfg.paths.initSocket,
      (user) => this.paths(user).socket,
      deps.log,
    );
  }

  /** What a signed document, from the control plane or from disk, is verified against now. */
  trust(): StoredTrust {
    return {
      root: this.deps.rootPem,
      authorisation: this.deps.trust.authorisation,
      crls: this.crls(),
      node: this.node,
      now: new Date(),
    };
  }

  log(msg: string): void {
    this.deps.log(msg);
  }

  /** Raises an alert (once per dedupe key); queued while the control plane is unreachable. */
  alert(dedupe: string | undefined, a: Omit<Alert, "at" | "computerId">): void {
    // A refusal for want of a current CRL asks the site again (rate-limited in SiteCrls).
    const reason = a.evidence?.reason;
    if (typeof reason === "string") this.siteCrls.failed(reason);
    this.alerts.raise(dedupe, a);
  }

  paths(user: string) {
    return partitionPaths(user, this.cfg.paths.partitionsRoot);
  }

  /** No CRL at all (no file, no site bundle) means no revocation check (an empty list would mean "check, but with nothing"). */
  crls(): readonly string[] | undefined {
    return this.siteCrls.current();
  }

  save(): void {
    this.store.save(this.state);
  }

  setRecord(name: string, rec: InstanceRecord | undefined): void {
    // unchanged records are not written again: with 100 instances, 100 fsyncs per pass would be most of a change's latency
    if (JSON.stringify(this.state.instances[name]) === JSON.stringify(rec)) return;
    const instances = { ...this.state.instances };
    if (rec) instances[name] = rec;
    else delete instances[name];
    this.state = { ...this.state, instances };
    this.store.save(this.state);
  }
}
