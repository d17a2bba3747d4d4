/**
 * How many `datastore-refusal` alerts a flood of refusals makes: one per instance, user and client
 * address per window, carrying how many refusals it stands for; at most `pairsPerWindow` such pairs
 * per instance per window, the rest folded into one alert per window (user and address `*`). So
 * 100,000 refusals in one pass, of one pair or of 100,000, are a handful of alerts. Pure (the clock
 * is an argument); its memory is bounded by `maxPairs`.
 */
import type { DatastoreRefusal } from "./datastore-refusals";

export interface RefusalAlert {
  readonly instance: string;
  readonly refusal: DatastoreRefusal;
  /** Refusals this alert stands for: this pass's, and those held back in the window before it. */
  readonly count: number;
  /** For the folded alert: how many user/address pairs it stands for. */
  readonly pairs?: number;
}

export interface RefusalWindowOptions {
  readonly windowMs: number;
  readonly pairsPerWindow: number;
  /** Pairs remembered over all instances; the oldest is forgotten first. */
  readonly maxPairs: number;
}

export const DEFAULT_REFUSAL_WINDOW: RefusalWindowOptions = {
  windowMs: 10 * 60_000,
  pairsPerWindow: 20,
  maxPairs: 2000,
};

interface PairMemory {
  since: number;
  held: number;
}

interface InstanceBudget {
  since: number;
  raised: number;
  foldedRaised: boolean;
  /** Refusals over budget not yet in an alert, their pairs, and the last of them. */
  held: number;
  heldPairs: Set<string>;
  last?: DatastoreRefusal;
}

export class RefusalWindows {
  private readonly o: RefusalWindowOptions;
  private readonly pairs = new Map<string, PairMemory>();
  private readonly budgets = new Map<string, InstanceBudget>();

  constructor(options: Partial<RefusalWindowOptions> = {}) {
    this.o = { ...DEFAULT_REFUSAL_WINDOW, ...options };
  }

  /** The alerts to raise for `refusals` of `instance` seen now (call each pass, even with none). */
  take(instance: string, refusals: readonly DatastoreRefusal[], now: number): RefusalAlert[] {
    const budget = this.budget(instance, now);
    const out: RefusalAlert[] = [];
    const groups = new Map<string, { first: DatastoreRefusal; last: DatastoreRefusal; n: number }>();
    for (const r of refusals) {
      const k = `${instance}\0${r.user}\0${r.clientAddress}`;
      const g = groups.get(k);
      if (g) {
        g.n++;
        g.last = r;
      } else groups.set(k, { first: r, last: r, n: 1 });
    }
    for (const [k, g] of groups) {
      const p = this.pairs.get(k);
      if (p && now - p.since < this.o.windowMs) {
        p.held += g.n;
        continue;
      }
      if (budget.raised >= this.o.pairsPerWindow) {
        budget.held += g.n;
        if (budget.heldPairs.size < this.o.maxPairs) budget.heldPairs.add(k);
        budget.last = g.last;
        continue;
      }
      budget.raised++;
      out.push({ instance, refusal: g.first, count: g.n + (p?.held ?? 0) });
      this.remember(k, now);
    }
    if (budget.held > 0 && !budget.foldedRaised && budget.last) {
      out.push(this.folded(instance, budget));
      budget.foldedRaised = true;
    }
    return out;
  }

  /** Forgets an instance (it left the node). */
  forget(instance: string): void {
    this.budgets.delete(instance);
    for (const k of this.pairs.keys()) if (k.startsWith(`${instance}\0`)) this.pairs.delete(k);
  }

  private budget(instance: string, now: number): InstanceBudget {
    const b = this.budgets.get(instance);
    if (b && now - b.since < this.o.windowMs) return b;
    const fresh: InstanceBudget = {
      since: now,
      raised: 0,
      foldedRaised: false,
      held: 0,
      heldPairs: new Set(),
    };
    // what was held back in the last window is reported in this one's folded alert
    if (b && b.held > 0) Object.assign(fresh, { held: b.held, heldPairs: b.heldPairs, last: b.last });
    this.budgets.set(instance, fresh);
    return fresh;
  }

  private folded(instance: string, b: InstanceBudget): RefusalAlert {
    const a: RefusalAlert = {
      instance,
      refusal: { ...(b.last as DatastoreRefusal), user: "*", clientAddress: "*" },
      count: b.held,
      pairs: b.heldPairs.size,
    };
    b.held = 0;
    b.heldPairs = new Set();
    return a;
  }

  private remember(k: string, now: number): void {
    this.pairs.delete(k);
    this.pairs.set(k, { since: now, held: 0 });
    if (this.pairs.size > this.o.maxPairs) this.pairs.delete(this.pairs.keys().next().value as string);
  }
}
