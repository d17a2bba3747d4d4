/**
 * One drift run over the fleet: every desired server compared with its observation, then the noise
 * control (history, flapping, exemptions). Pure: the command observes, loads the history and hands
 * both over; this returns what the reports print and what the history keeps.
 */
import type { Severity } from "../rules";
import { compareServer } from "./compare";
import type { DesiredServer } from "./desired";
import type { DriftFinding } from "./findings";
import {
  applyExemptions,
  applyHistory,
  type ExemptionLike,
  type ExemptionMatcher,
  type RunRecord,
} from "./noise";
import { isObservationError, type ObservedServer } from "./observed";

export interface ServerSummary {
  readonly stack: string;
  readonly dataCenter: string;
  readonly server: string;
  readonly hostname: string;
  readonly power: string;
  readonly bootDevice: string;
  /** Age of the agent's report in seconds, when read. */
  readonly reportAgeSeconds?: number;
  readonly instances: string;
  readonly findings: number;
  readonly worst?: Severity;
}

export interface DriftRun {
  readonly at: string;
  readonly stacks: readonly string[];
  readonly servers: readonly ServerSummary[];
  /** Findings that stand (flapping ones included, once each), worst first. */
  readonly findings: readonly DriftFinding[];
  readonly exempted: readonly { readonly finding: DriftFinding; readonly exemption: ExemptionLike }[];
  /** The stored runs this one was judged against (oldest first), for `--since` and the chart. */
  readonly history: readonly RunRecord[];
}

export interface JudgeOptions {
  readonly now: number;
  /** Stacks this run covers (a finding's history is read only from runs that covered its stack). */
  readonly stacks: readonly string[];
  readonly history?: readonly RunRecord[];
  readonly exemptions?: ExemptionMatcher;
}

export const SEVERITY_ORDER: readonly Severity[] = ["critical", "high", "medium", "low"];
const rank = (s: Severity) => SEVERITY_ORDER.indexOf(s);

export function judgeFleet(
  desired: readonly DesiredServer[],
  observed: readonly ObservedServer[],
  opts: JudgeOptions,
): DriftRun {
  const byServer = new Map(observed.map((o) => [`${o.dataCenter}/${o.server}`, o]));
  const raw = desired.flatMap((d) => compareServer(d, byServer.get(`${d.dataCenter}/${d.server}`), opts.now));
  const history = opts.history ?? [];
  const { active, exempted } = applyExemptions(applyHistory(raw, history), opts.exemptions);
  const findings = [...active].sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) ||
      a.stack.localeCompare(b.stack) ||
      a.server.localeCompare(b.server) ||
      a.check.localeCompare(b.check) ||
      a.subject.localeCompare(b.subject),
  );
  const perServer = new Map<string, DriftFinding[]>();
  for (const f of findings) {
    const k = `${f.dataCenter}/${f.server}`;
    perServer.set(k, [...(perServer.get(k) ?? []), f]);
  }
  const servers = desired.map((d): ServerSummary => {
    const o = byServer.get(`${d.dataCenter}/${d.server}`);
    const mine = perServer.get(`${d.dataCenter}/${d.server}`) ?? [];
    const report = o && !isObservationError(o.report) ? o.report : undefined;
    const bmc = o && !isObservationError(o.bmc) ? o.bmc : undefined;
    const running = report?.instances.filter((i) => i.phase === "running").length;
    return {
      stack: d.stack,
      dataCenter: d.dataCenter,
      server: d.server,
      hostname: d.hostname,
      power: bmc ? `${bmc.power} (wants ${d.power})` : "unreadable",
      bootDevice: bmc ? `${bmc.bootDevice} (wants ${d.bootDevice})` : "unreadable",
      ...(report ? { reportAgeSeconds: Math.round(report.ageSeconds) } : {}),
      instances: report ? `${running}/${d.instances.length} running` : `?/${d.instances.length}`,
      findings: mine.length,
      ...(mine.length ? { worst: mine[0].severity } : {}),
    };
  });
  return { at: new Date(opts.now).toISOString(), stacks: opts.stacks, servers, findings, exempted, history };
}

/** Drift: at least one finding stands (exit code 2). */
export const hasDrift = (run: DriftRun): boolean => run.findings.length > 0;

/** What the history keeps of a run: the findings it saw (not the flapping ones it only recalled). */
export function recordOf(run: DriftRun, maxFindings: number): RunRecord {
  const present = run.findings.filter((f) => f.presentNow);
  return {
    at: run.at,
    stacks: run.stacks,
    servers: run.servers.length,
    findings: present.slice(0, maxFindings).map(({ since: _s, status: _t, presentNow: _p, ...rest }) => rest),
  };
}
