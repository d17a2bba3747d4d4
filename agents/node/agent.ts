/**
 * The node agent proper: watches this computer's desired state, verifies it and every release it
 * names, reconciles the partitions' supervisords, and reports status, usage and alerts. When the
 * control plane is unreachable it leaves everything running on the last verified state (kept in its
 * state directory), retries with backoff, and reconciles as soon as it is back.
 *
 * This file is the outer loop (connection, watch, resync, offline backoff, one task at a time);
 * intake.ts verifies, apply.ts changes partitions, report.ts observes and reports, alerts.ts queues.
 */
import {
  ComputerChannel,
  ControlPlaneClient,
  ControlPlaneError,
  keys,
  type WatchHandle,
} from "../../lib/controlplane";
import type { DesiredStateDocument, SignedDesiredState } from "../../lib/desired-state";
import { planReconcile } from "../../lib/agent/plan";
import type { AgentState } from "../../lib/agent/state";
import { actionInstance, executeAction } from "./apply";
import { AgentContext, type AgentDeps } from "./context";
import { CRL_REFRESH_MS } from "./crls";
import { checkFreshness, checkReleases, verifyIncoming } from "./intake";
import { jobSocketsOf } from "./job-sockets";
import { sampleUsage, statusReport } from "./report";
import { handleRequest } from "./requests";

export type { Alert } from "./alerts";
export type { AgentDeps } from "./context";

export class NodeAgent {
  private readonly ctx: AgentContext;
  private client?: ControlPlaneClient;
  private channel?: ComputerChannel;
  private watch?: WatchHandle;
  private freshnessWatch?: WatchHandle;
  private requestsWatch?: WatchHandle;
  private online = false;
  private syncing = false;
  private stopped = false;
  private backoffMs = 1000;
  private retry?: NodeJS.Timeout;
  private readonly timers: NodeJS.Timeout[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly deps: AgentDeps) {
    this.ctx = new AgentContext(deps, { isOnline: () => this.online, channel: () => this.channel });
  }

  /** Re-applies the last verified state, connects, and starts the sampling and report timers. */
  async start(): Promise<void> {
    if (process.getuid?.() === 0) throw new Error("refusing to run as root (zero root): run as zr-agent");
    const cfg = this.ctx.cfg;
    // Before anything is verified: the site's current CRLs (offline, the bundle held on disk stays).
    await this.ctx.siteCrls.refreshAtStart();
    // a partition's supervisord runs only while it holds an instance: stop those a previous run left
    const holding = new Set(Object.values(this.ctx.state.instances).map((r) => r.partition.user));
    await this.ctx.partitions
      .sweep(holding)
      .catch((e: unknown) => this.deps.log(`partition supervisords not swept: ${(e as Error).message}`));
    if (this.ctx.state.desired?.signed !== undefined) {
      this.deps.log(
        `re-applying the last verified desired state (version ${this.ctx.state.desired.version}), verified again as read from disk`,
      );
      await this.enqueue(() => this.reconcileLocal());
    }
    const iv = cfg.intervals;
    this.timers.push(setInterval(() => void this.tick(), iv.resyncSeconds * 1000));
    this.timers.push(
      setInterval(() => void this.enqueue(() => sampleUsage(this.ctx)), iv.sampleSeconds * 1000),
    );
    this.timers.push(setInterval(() => void this.report(), iv.reportSeconds * 1000));
    this.timers.push(setInterval(() => void this.ctx.siteCrls.refresh(), CRL_REFRESH_MS));
    if (cfg.controlPlane) {
      this.client = new ControlPlaneClient({
        endpoints: cfg.controlPlane.endpoints,
        identity: {
          trustAnchorsPem: this.deps.rootPem,
          certificateChainPem: this.deps.certificateChainPem,
          privateKeyPem: this.deps.privateKeyPem,
        },
        timeoutMs: cfg.controlPlane.timeoutMs,
      });
      this.channel = new ComputerChannel(this.client, cfg.serverId);
      await this.sync();
    } else this.deps.log("agent.json has no controlPlane: reporting readiness only");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.retry);
    await this.watch?.cancel().catch(() => undefined);
    await this.freshnessWatch?.cancel().catch(() => undefined);
    await this.requestsWatch?.cancel().catch(() => undefined);
    await this.queue;
    await jobSocketsOf(this.ctx).closeAll();
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
    else {
      this.staleOffline();
      await this.enqueue(() => this.reconcileLocal());
    }
  }

  /** Offline, the statement last accepted runs out like any other: the same alert as online. */
  private staleOffline(): void {
    const f = this.ctx.freshness;
    if (!f || Date.now() < Date.parse(f.expiresAt)) return;
    this.ctx.alert(`stale:${f.version}:offline`, {
      kind: "desired-state-stale",
      severity: "warning",
      detail: `the applied desired state (version ${f.version}) was vouched for until ${f.expiresAt} and the control plane is unreachable; instances keep running, nothing new is applied`,
      evidence: { version: f.version, expiresAt: f.expiresAt },
    });
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
      // a renewed statement may let a held document through, or end a stale one: read both again
      // Not fatal: an etcd whose roles predate the key refuses it; the statement is then read as none.
      if (!this.freshnessWatch && this.client)
        this.freshnessWatch = await this.client
          .watch(keys.freshness(this.deps.config.serverId), { onPut: () => void this.resync() })
          .catch((e: unknown) => {
            this.deps.log(`cannot watch the freshness statement: ${(e as Error).message}`);
            return undefined;
          });
      if (!this.requestsWatch && this.client) this.requestsWatch = await this.watchRequests(this.client);
      this.setOnline(true);
      this.backoffMs = 1000;
      if (entry) await this.enqueue(() => this.process(entry.value));
      await this.ctx.alerts.flush();
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

  /**
   * Operator requests (agents/node/requests.ts): those already there, then each new one, one task at
   * a time with reconciles. Not fatal: an etcd whose roles predate the key refuses it.
   */
  private async watchRequests(client: ControlPlaneClient): Promise<WatchHandle | undefined> {
    const prefix = keys.requests(this.deps.config.serverId);
    // reported at once: the operator who asked waits for the outcome in the status report
    const run = (k: string, v: string) =>
      void this.enqueue(async () => {
        if (await handleRequest(this.ctx, k, v)) await this.report();
      });
    let handle: WatchHandle | undefined;
    try {
      handle = await client.watch(prefix, { onPut: run }, { prefix: true });
      for (const [k, v] of Object.entries(await client.list(prefix)).slice(0, 100)) run(k, v);
      return handle;
    } catch (e) {
      await handle?.cancel().catch(() => undefined);
      this.deps.log(`cannot watch operator requests: ${(e as Error).message}`);
      return undefined;
    }
  }

  private async resync(): Promise<void> {
    const entry = await this.channel?.readDesired().catch(() => undefined);
    if (entry) await this.enqueue(() => this.process(entry.value));
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
    const v = verifyIncoming(this.ctx, text);
    if (!v || (this.client && (await checkFreshness(this.ctx, this.client, v)) === "hold")) {
      await this.reconcileLocal();
      return;
    }
    await this.reconcile(v.document, false);
    this.ctx.state = {
      ...this.ctx.state,
      desired: {
        version: v.document.version,
        digest: v.digest,
        signed: v.signed,
        appliedAt: new Date().toISOString(),
      },
    };
    this.ctx.save();
  }

  /**
   * Offline: the stored document, verified when it was read back at start. None (never applied, or
   * refused then): nothing is applied, and the running instances are left as they are.
   */
  private async reconcileLocal(): Promise<void> {
    const d = this.ctx.state.desired;
    if (d?.signed !== undefined) await this.reconcile((d.signed as SignedDesiredState).document, true);
  }

  private async reconcile(doc: DesiredStateDocument, local: boolean): Promise<void> {
    const ctx = this.ctx;
    const releases = await checkReleases(ctx, this.client, doc, local);
    const actions = planReconcile({
      desired: doc.instances,
      releases,
      records: ctx.state.instances,
      partitions: ctx.cfg.partitions,
      now: new Date(),
    });
    ctx.specs = new Map(doc.instances.map((s) => [s.name, s]));
    // the partitions' supervisords that must run, started together rather than one per action
    await ctx.partitions.ensureUpAll(
      actions.flatMap((a) => (a.kind === "apply" ? [a.spec.partition.user] : [])),
    );
    for (const a of actions) {
      try {
        await executeAction(ctx, a);
      } catch (e) {
        const name = actionInstance(a);
        ctx.alert(`failed:${name}:${(e as Error).message}`, {
          kind: "reconcile-failed",
          severity: "warning",
          instance: name,
          detail: `${a.kind} of instance ${name} failed: ${(e as Error).message}`,
        });
      }
    }
    ctx.save();
    if (!local) await this.report();
  }

  /** Status and usage reports; skipped while offline (the next one after reconnection carries the state). */
  async report(): Promise<void> {
    if (!this.online || !this.channel) return;
    try {
      await this.channel.reportStatus(await this.status());
      await this.channel.reportUsage({ at: new Date().toISOString(), partitions: this.ctx.usage });
    } catch {
      // unreachable: the sync loop notices and retries
    }
  }

  /** What the agent reports at /computers/<id>/report/status. */
  async status(): Promise<Record<string, unknown>> {
    return statusReport(this.ctx);
  }

  /** For tests and the benchmark: the current state. */
  snapshot(): AgentState {
    return this.ctx.state;
  }
}
