/**
 * The agent's alerts: raised once per dedupe key, queued while the control plane is unreachable (the
 * last 1,000 kept), and written to /computers/<id>/report/alerts/<id> in order once it is back.
 */
import type { ComputerChannel } from "../../lib/controlplane";

/** Alerts the status report repeats. */
export const RECENT_ALERTS = 50;

export interface Alert {
  readonly kind: string;
  readonly severity: "critical" | "warning" | "info";
  readonly computerId: string;
  readonly instance?: string;
  readonly detail: string;
  readonly evidence?: Readonly<Record<string, unknown>>;
  readonly at: string;
}

/** What an alert needs from the agent's connection: whether it is up and the channel to write to. */
export interface AlertLink {
  isOnline(): boolean;
  channel(): ComputerChannel | undefined;
}

export class AlertQueue {
  private readonly pending: { id: string; alert: Alert }[] = [];
  private readonly raised = new Set<string>();
  /** The last alerts raised, newest last, for the status report (drift detection reads them there). */
  private readonly lastRaised: Alert[] = [];
  private seq = 0;

  constructor(
    private readonly computerId: string,
    private readonly log: (msg: string) => void,
    private readonly link: AlertLink,
  ) {}

  /** Raises an alert (once per dedupe key); queued while the control plane is unreachable. */
  raise(dedupe: string | undefined, a: Omit<Alert, "at" | "computerId">): void {
    if (dedupe !== undefined) {
      if (this.raised.has(dedupe)) return;
      this.raised.add(dedupe);
    }
    const alert: Alert = { ...a, computerId: this.computerId, at: new Date().toISOString() };
    this.log(`ALERT ${a.kind}${a.instance ? ` [${a.instance}]` : ""}: ${a.detail}`);
    const id = `${Date.now()}.${++this.seq}.${a.kind}${a.instance ? `.${a.instance}` : ""}`.slice(0, 128);
    this.pending.push({ id, alert });
    this.lastRaised.push(alert);
    if (this.lastRaised.length > RECENT_ALERTS) this.lastRaised.shift();
    if (this.pending.length > 1000) this.pending.shift();
    if (this.link.isOnline()) void this.flush();
  }

  /** The last alerts raised (at most RECENT_ALERTS), oldest first, sent or not. */
  recent(): readonly Alert[] {
    return [...this.lastRaised];
  }

  /** Alerts raised and not yet written to the control plane, oldest first. */
  queued(): readonly Alert[] {
    return this.pending.map((p) => p.alert);
  }

  async flush(): Promise<void> {
    for (;;) {
      const channel = this.link.channel();
      if (!channel || this.pending.length === 0) return;
      const next = this.pending[0];
      try {
        await channel.raiseAlert(next.id, next.alert);
        this.pending.shift();
      } catch {
        return; // kept for the next connection
      }
    }
  }
}
