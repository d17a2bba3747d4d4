/**
 * Text and JSON reports of a drift run. Pure: they return strings. Every value that came from a
 * server was cleaned when the finding was made (findings.ts); the text table cuts cells again so a
 * long value cannot push the table apart.
 */
import type { DriftFinding } from "./findings";
import { SEVERITY_ORDER, type DriftRun } from "./judge";
import type { RunRecord } from "./noise";

const CELL = 48;
const cell = (s: string, max = CELL) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

export function countBySeverity(findings: readonly { severity: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of SEVERITY_ORDER) out[s] = findings.filter((f) => f.severity === s).length;
  return out;
}

function summary(run: DriftRun): string {
  const counts = countBySeverity(run.findings);
  const parts = SEVERITY_ORDER.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`);
  return (
    `drift ${run.at} — ${run.stacks.join(", ") || "no stack"}: ${run.servers.length} server(s), ` +
    `${run.findings.length} finding(s)${parts.length ? ` (${parts.join(", ")})` : ""}, ${run.exempted.length} exempted`
  );
}

const remedyText = (f: DriftFinding) =>
  f.remedy === "human"
    ? `needs a human: escalated${f.fence ? "; the stack fences this server (power off through its BMC)" : ""}`
    : `the platform can fix it (${f.remedy}, --remediate)`;

const where = (f: DriftFinding) =>
  `${f.location.file}${f.location.line ? `:${f.location.line}` : ""} ${f.location.key}`;

export function formatText(run: DriftRun): string {
  const lines = [summary(run), ""];
  const rows = run.findings.map((f) => [
    f.severity,
    f.status === "flapping" && !f.presentNow ? "flapping (absent now)" : f.status,
    f.stack,
    f.server,
    f.check,
    f.ruleId,
    cell(f.subject, 32),
    cell(f.observed, 40),
    cell(f.desired, 32),
    f.since,
  ]);
  if (rows.length > 0) {
    lines.push(
      ...table(
        ["SEVERITY", "STATUS", "STACK", "SERVER", "RULE", "ID", "SUBJECT", "OBSERVED", "DESIRED", "SINCE"],
        rows,
      ),
      "",
    );
    for (const f of run.findings) {
      lines.push(`[${f.ruleId} ${f.check}] ${f.stack}/${f.server} ${f.subject}: ${f.message}`);
      lines.push(`    resource: ${f.urn}`);
      lines.push(`    config:   ${where(f)}`);
      lines.push(`    fix:      ${f.fix} (${remedyText(f)})`);
    }
    lines.push("");
  }
  for (const x of run.exempted)
    lines.push(
      `exempted [${x.finding.check}] ${x.finding.server} ${x.finding.subject}: until ${x.exemption.expires} — ${cell(x.exemption.reason, 120)}`,
    );
  lines.push(run.findings.length > 0 ? `DRIFT: ${run.findings.length} finding(s)` : "OK: no drift");
  return `${lines.join("\n")}\n`;
}

/** Findings per stored run (and this one), for `--since` and the chart. */
export function timeline(
  run: DriftRun,
  since?: number,
): { at: string; total: number; bySeverity: Record<string, number> }[] {
  const runs: Pick<RunRecord, "at" | "findings">[] = [
    ...run.history,
    { at: run.at, findings: run.findings.filter((f) => f.presentNow) },
  ];
  return runs
    .filter((r) => since === undefined || Date.parse(r.at) >= since)
    .map((r) => ({ at: r.at, total: r.findings.length, bySeverity: countBySeverity(r.findings) }));
}

export function formatJson(run: DriftRun, since?: number): string {
  const doc = {
    ok: run.findings.length === 0,
    at: run.at,
    stacks: run.stacks,
    servers: run.servers,
    findings: run.findings,
    exempted: run.exempted,
    history: timeline(run, since),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** `--since` in text: one line per stored run. */
export function formatHistoryText(run: DriftRun, since?: number): string {
  const rows = timeline(run, since).map((t) => [
    t.at,
    String(t.total),
    ...SEVERITY_ORDER.map((s) => String(t.bySeverity[s])),
  ]);
  return `${table(["RUN", "FINDINGS", ...SEVERITY_ORDER.map((s) => s.toUpperCase())], rows).join("\n")}\n`;
}
