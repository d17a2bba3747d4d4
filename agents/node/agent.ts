/**
 * The node agent proper: watches this computer's desired state, verifies it and every release it
 * names, reconciles the partitions' supervisords, and reports status, usage and alerts. When the
 * control plane is unreachable it leaves everything running on the last verified state (kept in its
 * state directory), retries with backoff, and reconciles as soon as it is back.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  readFileSync,
  chmodSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { InstanceSpec } from "../../lib/contracts/resources";
import {
  ComputerChannel,
  ControlPlaneClient,
  ControlPlaneError,
  keys,
  type WatchHandle,
} from "../../lib/controlplane";
import {
  verifyDesiredState,
  type DesiredStateDocument,
  type SignedDesiredState,
} from "../../lib/desired-state";
import { partitionPaths } from "../../lib/hardening/partitions";
import {
  compareSemVer,
  directoryFileSource,
  type AuthorisationList,
  type ReleaseManifest,
} from "../../lib/release";
import { AnomalyDetector, type Finding, type PartitionUsage, type Thresholds } from "../../lib/agent/anomaly";
import type { AgentConfig } from "../../lib/agent/config";
import { mergePersistence } from "../../lib/agent/persistence";
import { planReconcile, type Action, type ReleaseCheck } from "../../lib/agent/plan";
import { checkRelease, parseDpkgStatus, releaseKey } from "../../lib/agent/releases";
import { agentSwitches, CONF_FILE, renderInstance, RenderError } from "../../lib/agent/render";
import type { AgentState, InstanceRecord } from "../../lib/agent/state";
import { readPidFile, sampleNode } from "./observe";
import { ensureServiceCertificate, type CsrPoster } from "./service-cert";
import { StateStore } from "./store";
import { Supervisor } from "./supervisor";

export interface AgentDeps {
  readonly config: AgentConfig;
  readonly rootPem: string;
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  readonly trust: { readonly authorisation: AuthorisationList; readonly crls: readonly string[] };
  /** The site, for service certificates. @default - none: instances with TLS ports get an alert */
  readonly site?: CsrPoster;
  readonly log: (msg: string) => void;
}

export interface Alert {
  readonly kind: string;
  readonly severity: "critical" | "warning" | "info";
  readonly computerId: string;
  readonly instance?: string;
  readonly detail: string;
  readonly evidence?: Readonly<Record<string, unknown>>;
  readonly at: string;
}

const WIPE_CONF = "zeroroot-wipe.conf";

export class NodeAgent {
  private readonly cfg: AgentConfig;
  private readonly store: StateStore;
  private state: AgentState;
  private client?: ControlPlaneClient;
  private channel?: ComputerChannel;
  private watch?: WatchHandle;
  private online = false;
  private syncing = false;
  private stopped = false;
  private backoffMs = 1000;
  private retry?: NodeJS.Timeout;
  private readonly timers: NodeJS.Timeout[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly pendingAlerts: { id: string; alert: Alert }[] = [];
  private readonly raised = new Set<string>();
  private alertSeq = 0;
  private specs = new Map<string, InstanceSpec>();
  private readonly refusals = new Map<string, { reason: string; detail: string }>();
  private readonly detector: AnomalyDetector;
  private usage: Record<string, PartitionUsage & { instance: string }> = {};

  constructor(private readonly deps: AgentDeps) {
    this.cfg = deps.config;
    this.store = new StateStore(this.cfg.paths.stateDir);
    this.state = this.store.load();
    this.detector = new AnomalyDetector(this.cfg.anomaly as Partial<Thresholds>);
  }

  /** Re-applies the last verified state, connects, and starts the sampling and report timers. */
  async start(): Promise<void> {
    if (process.getuid?.() === 0) throw new Error("refusing to run as root (zero root): run as zr-agent");
    if (this.state.desired) {
      this.deps.log(`re-applying the last verified desired state (version ${this.state.desired.version})`);
      await this.enqueue(() => this.reconcileLocal());
    }
    const iv = this.cfg.intervals;
    this.timers.push(setInterval(() => void this.tick(), iv.resyncSeconds * 1000));
    this.timers.push(setInterval(() => void this.enqueue(() => this.sample()), iv.sampleSeconds * 1000));
    this.timers.push(setInterval(() => void this.report(), iv.reportSeconds * 1000));
    if (this.cfg.controlPlane) {
      this.client = new ControlPlaneClient({
        endpoints: this.cfg.controlPlane.endpoints,
        identity: {
          trustAnchorsPem: this.deps.rootPem,
          certificateChainPem: this.deps.certificateChainPem,
          privateKeyPem: this.deps.privateKeyPem,
        },
        timeoutMs: this.cfg.controlPlane.timeoutMs,
      });
      this.channel = new ComputerChannel(this.client, this.cfg.serverId);
      await this.sync();
    } else this.deps.log("agent.json has no controlPlane: reporting readiness only");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.retry);
    await this.watch?.cancel().catch(() => undefined);
    await this.queue;
    this.client?.close();
  }

  isOnline(): boolean {
    return this.online;
  }

  private enqueue(fn: () => Promise<void> | void): Promise<void> {
    const run = this.queue
      .then(fn)
      .catch((e: unknown) => this.deps.log(`error: ${(e as Error).stack ?? String(e)}`));
    this.queue = run;
    return run;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.online) await this.sync();
    else await this.enqueue(() => this.reconcileLocal());
  }

  /** Reads the desired state once (and sets up the watch); on failure, goes offline and retries with backoff. */
  private async sync(): Promise<void> {
    if (this.syncing || this.stopped || !this.channel) return;
    this.syncing = true;
    clearTimeout(this.retry);
    try {
      const entry = await this.channel.readDesired();
      if (!this.watch) {
        this.watch = await this.channel.watchDesired(
          (doc) => {
            if (doc !== undefined) void this.enqueue(() => this.process(doc));
          },
          {
            onDisconnected: () => this.setOnline(false),
            // a watch resumes by itself; read again in case a change was missed while away
            onConnected: () => void this.sync(),
          },
        );
      }
      this.setOnline(true);
      this.backoffMs = 1000;
      if (entry) await this.enqueue(() => this.process(entry.value));
      await this.flushAlerts();
      await this.report();
    } catch (e) {
      const kind = e instanceof ControlPlaneError ? e.kind : "protocol";
      this.setOnline(false);
      if (kind === "permission-denied")
        this.deps.log(`control plane refused this computer: ${(e as Error).message}`);
      if (!this.stopped) {
        this.retry = setTimeout(() => void this.sync(), this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
      }
    } finally {
      this.syncing = false;
    }
  }

  private setOnline(on: boolean): void {
    if (on === this.online) return;
    this.online = on;
    this.deps.log(
      on
        ? "control plane reachable"
        : "control plane unreachable: instances keep running on the last verified state; retrying",
    );
    if (!on && !this.syncing && !this.stopped) {
      clearTimeout(this.retry);
      this.retry = setTimeout(() => void this.sync(), this.backoffMs);
    }
  }

  /** A document from the control plane: verify, then reconcile; a refusal keeps the last verified state. */
  private async process(text: string): Promise<void> {
    let signed: unknown;
    try {
      signed = JSON.parse(text);
    } catch {
      signed = undefined;
    }
    const last = this.state.desired;
    const v = verifyDesiredState(signed ?? {}, {
      root: this.deps.rootPem,
      authorisedSigners: this.deps.trust.authorisation,
      computerId: this.cfg.serverId,
      lastAppliedVersion: last?.version,
      lastAppliedDigest: last?.digest,
      crls: this.crls(),
    });
    if (!v.ok) {
      const key = `desired:${createHash("sha256").update(text).digest("hex")}`;
      this.alert(key, {
        kind: "desired-state-refused",
        severity: "critical",
        detail: `desired state refused (${v.reason}): ${v.detail}; keeping the last verified state${last ? ` (version ${last.version})` : ""}`,
        evidence: { reason: v.reason },
      });
      await this.reconcileLocal();
      return;
    }
    await this.reconcile(v.document, false);
    this.state = {
      ...this.state,
      desired: { version: v.document.version, digest: v.digest, signed, appliedAt: new Date().toISOString() },
    };
    this.store.save(this.state);
  }

  private async reconcileLocal(): Promise<void> {
    const d = this.state.desired;
    if (d) await this.reconcile((d.signed as SignedDesiredState).document, true);
  }

  private async reconcile(doc: DesiredStateDocument, local: boolean): Promise<void> {
    const releases = await this.checkReleases(doc, local);
    const actions = planReconcile({
      desired: doc.instances,
      releases,
      records: this.state.instances,
      partitions: this.cfg.partitions,
      now: new Date(),
    });
    this.specs = new Map(doc.instances.map((s) => [s.name, s]));
    for (const a of actions) {
      try {
        await this.execute(a);
      } catch (e) {
        const name = a.kind === "refuse" ? a.name : a.kind === "apply" ? a.spec.name : a.record.name;
        this.alert(`failed:${name}:${(e as Error).message}`, {
          kind: "reconcile-failed",
          severity: "warning",
          instance: name,
          detail: `${a.kind} of instance ${name} failed: ${(e as Error).message}`,
        });
      }
    }
    this.store.save(this.state);
    if (!local) await this.report();
  }

  /** Verifies each release the document names, newest last (rollback protection per release name). */
  private async checkReleases(
    doc: DesiredStateDocument,
    local: boolean,
  ): Promise<Record<string, ReleaseCheck>> {
    const out: Record<string, ReleaseCheck> = {};
    const byKey = new Map<string, ReleaseCheck>();
    const sorted = [...doc.instances].sort((a, b) => compareSemVer(a.release.version, b.release.version));
    let packages: Map<string, string> | undefined;
    for (const inst of sorted) {
      const ref = inst.release;
      const key = releaseKey(ref);
      const cached = this.state.releaseDocs[key];
      const highest = this.state.releases[ref.name];
      const running = Object.values(this.state.instances).some((r) => releaseKey(r.release) === key);
      let check = byKey.get(key);
      if (!check && cached && cached.digest === ref.manifestDigest) {
        check =
          !highest || compareSemVer(ref.version, highest.version) >= 0 || running
            ? {
                ok: true,
                manifest: (cached.signed as { manifest: ReleaseManifest }).manifest,
                digest: cached.digest,
              }
            : {
                ok: false,
                reason: "rollback",
                detail: `release ${key} is older than ${highest.version}, the last accepted, and no instance runs it any more`,
              };
      }
      if (!check && local)
        check = {
          ok: false,
          reason: "unavailable",
          detail: `release ${key} was never accepted by this node`,
        };
      if (!check && this.client) {
        const document = await this.client.get(keys.release(ref.name, ref.version));
        packages ??= this.readPackages();
        check = checkRelease({
          document,
          ref,
          trust: {
            root: this.deps.rootPem,
            authorisation: this.deps.trust.authorisation,
            crls: this.crls(),
          },
          last: highest,
          files: directoryFileSource(join(this.cfg.paths.releasesDir, key)),
          packages,
          now: new Date(),
        });
        if (check.ok) {
          const newer = !highest || compareSemVer(ref.version, highest.version) >= 0;
          this.state = {
            ...this.state,
            releases: newer
              ? { ...this.state.releases, [ref.name]: { version: ref.version, digest: check.digest } }
              : this.state.releases,
            releaseDocs: {
              ...this.state.releaseDocs,
              [key]: { digest: check.digest, signed: JSON.parse(document as string) },
            },
          };
        }
      }
      check ??= { ok: false, reason: "unavailable", detail: "no control plane" };
      byKey.set(key, check);
      out[inst.name] = check;
      // "unavailable" (offline, never accepted) was reported when the release was refused online
      if (!check.ok && check.reason !== "unavailable")
        this.alert(`release:${key}:${check.reason}`, {
          kind: "release-refused",
          severity: "critical",
          instance: inst.name,
          detail: check.detail,
          evidence: { release: key, reason: check.reason },
        });
    }
    return out;
  }

  /** No CRL files configured means no revocation check (an empty list would mean "check, but with nothing"). */
  private crls(): readonly string[] | undefined {
    return this.deps.trust.crls.length > 0 ? this.deps.trust.crls : undefined;
  }

  private readPackages(): Map<string, string> {
    try {
      return parseDpkgStatus(readFileSync(this.cfg.paths.dpkgStatus, "utf8"));
    } catch {
      return new Map();
    }
  }

  private paths(user: string) {
    return partitionPaths(user, this.cfg.paths.partitionsRoot);
  }

  private setRecord(name: string, rec: InstanceRecord | undefined): void {
    // unchanged records are not written again: with 100 instances, 100 fsyncs per pass would be most of a change's latency
    if (JSON.stringify(this.state.instances[name]) === JSON.stringify(rec)) return;
    const instances = { ...this.state.instances };
    if (rec) instances[name] = rec;
    else delete instances[name];
    this.state = { ...this.state, instances };
    this.store.save(this.state);
  }

  private async execute(a: Action): Promise<void> {
    switch (a.kind) {
      case "refuse":
        this.refusals.set(a.name, { reason: a.reason, detail: a.detail });
        if (a.reason !== "release-refused")
          this.alert(`refuse:${a.name}:${a.reason}`, {
            kind: "instance-refused",
            severity: "warning",
            instance: a.name,
            detail: a.detail,
            evidence: { reason: a.reason },
          });
        return;
      case "keep-stopped":
        return;
      case "retain":
        this.setRecord(a.record.name, { ...a.record, phase: "retained" });
        this.alert(`persist:${a.record.name}`, {
          kind: "persistence-refused",
          severity: "critical",
          instance: a.record.name,
          detail: `destroy of data-holding instance ${a.record.name} refused: its minimum persistence time runs until ${a.until.toISOString()} (${a.remainingSeconds} s left); it keeps running`,
          evidence: {
            createdAt: a.record.createdAt,
            minimumPersistenceSeconds: a.record.minimumPersistenceSeconds,
            until: a.until.toISOString(),
          },
        });
        return;
      case "destroy":
        await this.destroy(a.record);
        return;
      case "apply":
        await this.apply(a.spec, a.manifest, a.manifestDigest);
        return;
    }
  }

  private async apply(spec: InstanceSpec, manifest: ReleaseManifest, digest: string): Promise<void> {
    this.refusals.delete(spec.name);
    const p = this.paths(spec.partition.user);
    const prev = this.state.instances[spec.name];
    let r;
    try {
      r = renderInstance({
        spec,
        manifest,
        paths: p,
        releaseDir: join(this.cfg.paths.releasesDir, releaseKey(manifest)),
      });
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      this.refusals.set(spec.name, { reason: "render-refused", detail: e.message });
      this.alert(`render:${spec.name}:${e.message}`, {
        kind: "instance-refused",
        severity: "warning",
        instance: spec.name,
        detail: e.message,
        evidence: { reason: "render-refused" },
      });
      return;
    }
    if (manifest.ports.some((x) => x.tls)) await this.serviceCertificate(spec, p.instanceDir);
    const confFile = join(p.confD, CONF_FILE);
    if (!prev || prev.renderDigest !== r.digest || !existsSync(confFile)) {
      for (const f of r.files) writeAtomic(join(p.instanceDir, f.path), f.content, f.mode);
      writeAtomic(confFile, r.conf, 0o640);
      const changes = await new Supervisor(p.socket).update();
      this.deps.log(
        `instance ${spec.name}: ${manifest.name} ${manifest.version} in ${spec.partition.user} (added ${changes.added.join(",") || "-"}, changed ${changes.changed.join(",") || "-"}, removed ${changes.removed.join(",") || "-"})`,
      );
    }
    this.setRecord(spec.name, {
      name: spec.name,
      partition: spec.partition,
      release: { name: manifest.name, version: manifest.version, manifestDigest: digest },
      createdAt: prev?.createdAt ?? new Date().toISOString(),
      ...mergePersistence(
        prev ?? { holdsData: false, minimumPersistenceSeconds: 0 },
        spec,
        manifest.holdsData,
      ),
      renderDigest: r.digest,
      phase: "running",
    });
  }

  private async serviceCertificate(spec: InstanceSpec, instanceDir: string): Promise<void> {
    if (!this.deps.site) {
      this.alert(`cert:${spec.name}:nosite`, {
        kind: "service-certificate",
        severity: "warning",
        instance: spec.name,
        detail: `instance ${spec.name} declares TLS ports but the agent has no site to obtain its certificate from`,
      });
      return;
    }
    try {
      await ensureServiceCertificate(instanceDir, spec.name, this.cfg.hostname, this.deps.site);
    } catch (e) {
      this.alert(`cert:${spec.name}:${(e as Error).message}`, {
        kind: "service-certificate",
        severity: "warning",
        instance: spec.name,
        detail: `service certificate of ${spec.name} not obtained: ${(e as Error).message}; retried at the next pass`,
      });
    }
  }

  /** Stops the instance's programs, has the partition user wipe its data, and forgets the instance. */
  private async destroy(rec: InstanceRecord): Promise<void> {
    const p = this.paths(rec.partition.user);
    const sup = new Supervisor(p.socket);
    rmSync(join(p.confD, CONF_FILE), { force: true });
    await sup.update();
    rmSync(join(p.instanceDir, "tls"), { recursive: true, force: true });
    // files the partition user made are not the agent's to delete: the partition user deletes them
    writeAtomic(
      join(p.confD, WIPE_CONF),
      [
        "[program:zeroroot-wipe]",
        `command=/usr/bin/find ${p.instanceDir.replace(/%/g, "%%")} -mindepth 1 -delete`,
        "autostart=true",
        "autorestart=false",
        "startsecs=0",
        "startretries=0",
        "",
      ].join("\n"),
      0o640,
    );
    await sup.update();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const w = (await sup.processes()).find((x) => x.name === "zeroroot-wipe");
      if (!w || ["EXITED", "FATAL", "STOPPED"].includes(w.statename) || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    unlinkSync(join(p.confD, WIPE_CONF));
    await sup.update();
    this.detector.forget(rec.name);
    this.setRecord(rec.name, undefined);
    this.deps.log(`instance ${rec.name} destroyed (partition ${rec.partition.user} wiped)`);
    this.alert(`destroyed:${rec.name}:${rec.createdAt}`, {
      kind: "instance-destroyed",
      severity: "info",
      instance: rec.name,
      detail: `instance ${rec.name} (${releaseKey(rec.release)}) destroyed as the desired state asks${rec.holdsData ? ", after its minimum persistence time" : ""}`,
      evidence: { createdAt: rec.createdAt, minimumPersistenceSeconds: rec.minimumPersistenceSeconds },
    });
  }

  /** One /proc sample: usage per partition, and abnormal-usage findings as alerts. */
  private async sample(): Promise<void> {
    const node = sampleNode();
    const at = Date.now();
    const usage: typeof this.usage = {};
    for (const rec of Object.values(this.state.instances)) {
      if (rec.phase === "stopped") continue;
      const p = this.paths(rec.partition.user);
      const manifest = (
        this.state.releaseDocs[releaseKey(rec.release)]?.signed as { manifest?: ReleaseManifest }
      )?.manifest;
      const spec = this.specs.get(rec.name);
      const declared = [
        ...(manifest?.ports ?? []).map((x) => x.port),
        ...(spec?.endpoints ?? []).map((e) => e.port),
      ];
      const r = this.detector.observe(
        rec.name,
        { at, partitionUid: rec.partition.uid, supervisordPid: readPidFile(p.pidFile), ...node },
        declared,
      );
      usage[rec.partition.user] = { instance: rec.name, ...r.usage };
      for (const f of r.findings) await this.anomaly(rec, f, spec);
    }
    this.usage = usage;
  }

  private async anomaly(rec: InstanceRecord, f: Finding, spec: InstanceSpec | undefined): Promise<void> {
    const stop = spec ? agentSwitches(spec).stopOnAnomaly : false;
    this.alert(undefined, {
      kind: `anomaly-${f.kind}`,
      severity: "critical",
      instance: rec.name,
      detail: `${f.detail}${stop ? "; the instance is stopped (zeroroot.stopOnAnomaly=true)" : ""}`,
      evidence: { ...f.evidence, partition: rec.partition.user },
    });
    if (stop) {
      await new Supervisor(this.paths(rec.partition.user).socket).stopAll();
      this.setRecord(rec.name, { ...rec, phase: "stopped" });
      this.deps.log(`instance ${rec.name} stopped after ${f.kind}`);
    }
  }

  /** Raises an alert (once per dedupe key); queued while the control plane is unreachable. */
  private alert(dedupe: string | undefined, a: Omit<Alert, "at" | "computerId">): void {
    if (dedupe !== undefined) {
      if (this.raised.has(dedupe)) return;
      this.raised.add(dedupe);
    }
    const alert: Alert = { ...a, computerId: this.cfg.serverId, at: new Date().toISOString() };
    this.deps.log(`ALERT ${a.kind}${a.instance ? ` [${a.instance}]` : ""}: ${a.detail}`);
    const id = `${Date.now()}.${++this.alertSeq}.${a.kind}${a.instance ? `.${a.instance}` : ""}`.slice(
      0,
      128,
    );
    this.pendingAlerts.push({ id, alert });
    if (this.pendingAlerts.length > 1000) this.pendingAlerts.shift();
    if (this.online) void this.flushAlerts();
  }

  private async flushAlerts(): Promise<void> {
    while (this.channel && this.pendingAlerts.length > 0) {
      const next = this.pendingAlerts[0];
      try {
        await this.channel.raiseAlert(next.id, next.alert);
        this.pendingAlerts.shift();
      } catch {
        return; // kept for the next connection
      }
    }
  }

  /** Status and usage reports; skipped while offline (the next one after reconnection carries the state). */
  async report(): Promise<void> {
    if (!this.online || !this.channel) return;
    try {
      await this.channel.reportStatus(await this.status());
      await this.channel.reportUsage({ at: new Date().toISOString(), partitions: this.usage });
    } catch {
      // unreachable: the sync loop notices and retries
    }
  }

  /** What the agent reports at /computers/<id>/report/status. */
  async status(): Promise<Record<string, unknown>> {
    const instances = [];
    for (const rec of Object.values(this.state.instances)) {
      let programs: { name: string; state: string; pid: number }[] = [];
      try {
        programs = (await new Supervisor(this.paths(rec.partition.user).socket, 2000).processes())
          .filter((x) => x.name !== "zeroroot-wipe")
          .map((x) => ({ name: x.name, state: x.statename, pid: x.pid }));
      } catch {
        programs = [];
      }
      instances.push({
        name: rec.name,
        partition: rec.partition,
        release: rec.release,
        phase: rec.phase,
        createdAt: rec.createdAt,
        holdsData: rec.holdsData,
        minimumPersistenceSeconds: rec.minimumPersistenceSeconds,
        programs,
      });
    }
    return {
      computerId: this.cfg.serverId,
      at: new Date().toISOString(),
      desired: this.state.desired
        ? { version: this.state.desired.version, digest: this.state.desired.digest }
        : null,
      instances,
      refused: Object.fromEntries(this.refusals),
    };
  }

  /** For tests and the benchmark: the current state. */
  snapshot(): AgentState {
    return this.state;
  }
}

function writeAtomic(file: string, content: string, mode: number): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.zr-tmp`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}
