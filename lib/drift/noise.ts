/**
 * Noise control: since when each finding has been seen (from the stored runs), findings that flip
 * between consecutive runs reported once as flapping, and the policy pack's exemptions (one file,
 * one format: policies/exemptions.ts) applied to the rule-book findings they name. Pure.
 */
import { HOST_RULES } from "../rules";
import type { DriftFinding } from "./findings";

/** What one run leaves in the history: the findings it saw (present), bounded by the store. */
export interface RunRecord {
  readonly at: string;
  readonly stacks: readonly string[];
  readonly servers: number;
  readonly findings: readonly StoredFinding[];
}

export type StoredFinding = Omit<DriftFinding, "since" | "status" | "presentNow">;

/** Runs looked back on to call a finding flapping. @default 6 */
export const FLAP_WINDOW = 6;
/** Presence changes within the window (the current run included) that make a finding flapping. */
export const FLAP_FLIPS = 2;

const scopeHas = (r: RunRecord, stack: string) => r.stacks.includes(stack);

/**
 * Gives each finding `since` and a status from the history (oldest run first), and adds the
 * findings that flap but are absent from this run, once each, as flapping.
 */
export function applyHistory(
  current: readonly DriftFinding[],
  history: readonly RunRecord[],
  window: number = FLAP_WINDOW,
): DriftFinding[] {
  const keysOf = new Map(history.map((r) => [r, new Set(r.findings.map((f) => f.key))]));
  const recentFor = (stack: string) => history.filter((r) => scopeHas(r, stack)).slice(-window);
  const judge = (key: string, stack: string, presentNow: boolean) => {
    const runs = recentFor(stack);
    const seq = [...runs.map((r) => keysOf.get(r)!.has(key)), presentNow];
    let flips = 0;
    for (let i = 1; i < seq.length; i++) if (seq[i] !== seq[i - 1]) flips++;
    const firstInWindow = runs.find((r) => keysOf.get(r)!.has(key))?.at;
    // The current streak: back from the newest run while the finding was there.
    let streakStart: string | undefined;
    const all = history.filter((r) => scopeHas(r, stack));
    for (let i = all.length - 1; i >= 0 && keysOf.get(all[i])!.has(key); i--) streakStart = all[i].at;
    return { flapping: flips >= FLAP_FLIPS, firstInWindow, streakStart };
  };
  const out: DriftFinding[] = [];
  const seen = new Set<string>();
  for (const f of current) {
    if (seen.has(f.key)) continue; // one finding per key, whatever the observers repeated
    seen.add(f.key);
    const j = judge(f.key, f.stack, true);
    if (j.flapping) out.push({ ...f, status: "flapping", since: j.firstInWindow ?? f.since });
    else if (j.streakStart) out.push({ ...f, status: "ongoing", since: j.streakStart });
    else out.push({ ...f, status: "new" });
  }
  // Absent now but flipping within the window: still reported, once, so an unstable host shows.
  const latest = new Map<string, StoredFinding>();
  for (const r of history) for (const f of r.findings) latest.set(f.key, f);
  for (const [key, f] of latest) {
    if (seen.has(key)) continue;
    const j = judge(key, f.stack, false);
    if (j.flapping && j.firstInWindow)
      out.push({ ...f, status: "flapping", presentNow: false, since: j.firstInWindow });
    seen.add(key);
  }
  return out;
}

/** An exemption as policies/exemptions.ts defines it (the fields drift shows). */
export interface ExemptionLike {
  readonly rule: string;
  readonly resource: string;
  readonly reason: string;
  readonly expires: string;
}

/** The policy pack's matcher, e.g. `(rule, r) => findExemption(EXEMPTIONS, rule, r, Date.now())`. */
export type ExemptionMatcher = (
  rule: string,
  resource: { readonly urn: string; readonly name: string },
) => ExemptionLike | undefined;

/** Rule-book rules: the only names an exemption of the pack can carry. */
const EXEMPTABLE = new Set<string>(HOST_RULES.map((r) => r.name));

/**
 * Splits findings into those that stand and those a live exemption covers. An exemption names a
 * rule and a resource (URN, resource name, or the server id); desired-versus-observed checks are
 * not exemptable: what is desired is changed in the stack itself.
 */
export function applyExemptions(
  findings: readonly DriftFinding[],
  match: ExemptionMatcher | undefined,
): { active: DriftFinding[]; exempted: { finding: DriftFinding; exemption: ExemptionLike }[] } {
  const active: DriftFinding[] = [];
  const exempted: { finding: DriftFinding; exemption: ExemptionLike }[] = [];
  for (const f of findings) {
    const names = [f.server, f.urn.split("::").pop() ?? f.urn];
    const e =
      match && EXEMPTABLE.has(f.check)
        ? names.map((name) => match(f.check, { urn: f.urn, name })).find(Boolean)
        : undefined;
    if (e) exempted.push({ finding: f, exemption: e });
    else active.push(f);
  }
  return { active, exempted };
}
