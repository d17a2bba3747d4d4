/**
 * The HTML drift report: one self-contained file (inline CSS and SVG, no script, no external
 * asset, and a Content-Security-Policy that would block any that slipped in), the fleet as a table
 * per data center, each data center's findings, and a chart of findings over time from the history.
 * Every value is escaped: an agent's report cannot inject markup into the page people open.
 */
import { findingsChart } from "./chart";
import type { DriftFinding } from "./findings";
import { escapeHtml as e } from "./html-escape";
import type { DriftRun, ServerSummary } from "./judge";
import { countBySeverity, timeline } from "./report";

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111827}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}table{border-collapse:collapse;margin:8px 0;width:100%}
th,td{border:1px solid #d1d5db;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f3f4f6}
td.sev-critical{background:#fee2e2}td.sev-high{background:#ffedd5}td.sev-medium{background:#fef9c3}
td.sev-low{background:#dbeafe}.ok{color:#15803d}.drift{color:#b91c1c}code{font-size:12px;word-break:break-all}`;

function serverRow(s: ServerSummary): string {
  const cells = [
    s.server,
    s.hostname,
    s.power,
    s.bootDevice,
    s.reportAgeSeconds !== undefined ? `${s.reportAgeSeconds} s` : "unreadable",
    s.instances,
    String(s.findings),
  ];
  return `<tr>${cells.map((c) => `<td>${e(c)}</td>`).join("")}<td class="sev-${e(s.worst ?? "none")}">${e(s.worst ?? "—")}</td></tr>`;
}

function findingRow(f: DriftFinding): string {
  const where = `${f.location.file}${f.location.line ? `:${f.location.line}` : ""}`;
  const status = f.status === "flapping" && !f.presentNow ? "flapping (absent now)" : f.status;
  const cells = [
    `<td class="sev-${e(f.severity)}">${e(f.severity)}</td>`,
    `<td>${e(status)}</td>`,
    `<td>${e(f.server)}</td>`,
    `<td>${e(f.check)}<br><code>${e(f.ruleId)}</code></td>`,
    `<td>${e(f.subject)}</td>`,
    `<td>${e(f.message)}</td>`,
    `<td>${e(f.observed)}</td>`,
    `<td>${e(f.desired)}</td>`,
    `<td>${e(f.since)}</td>`,
    `<td>${e(f.fix)}<br><small>${e(f.remedy === "human" ? `needs a human${f.fence ? "; fenced" : ""}` : `--remediate: ${f.remedy}`)}</small></td>`,
    `<td><code>${e(where)}</code><br><code>${e(f.location.key)}</code><br><code>${e(f.urn)}</code></td>`,
  ];
  return `<tr>${cells.join("")}</tr>`;
}

const FINDING_HEAD = [
  "Severity",
  "Status",
  "Server",
  "Rule",
  "Subject",
  "Finding",
  "Observed",
  "Desired",
  "Since",
  "Fix",
  "Where",
];
const SERVER_HEAD = [
  "Server",
  "Hostname",
  "Power",
  "Boot device",
  "Report age",
  "Instances",
  "Findings",
  "Worst",
];

const head = (cols: readonly string[]) => `<tr>${cols.map((c) => `<th>${e(c)}</th>`).join("")}</tr>`;

export function formatHtml(run: DriftRun, since?: number): string {
  const dcs = [...new Set(run.servers.map((s) => s.dataCenter))].sort();
  const counts = countBySeverity(run.findings);
  const sections = dcs.map((dc) => {
    const servers = run.servers.filter((s) => s.dataCenter === dc);
    const findings = run.findings.filter((f) => f.dataCenter === dc);
    return (
      `<section class="data-center" id="dc-${e(dc)}"><h2>Data center ${e(dc)}</h2>` +
      `<table class="fleet">${head(SERVER_HEAD)}${servers.map(serverRow).join("")}</table>` +
      (findings.length
        ? `<table class="findings">${head(FINDING_HEAD)}${findings.map(findingRow).join("")}</table>`
        : `<p class="ok">No drift in ${e(dc)}.</p>`) +
      `</section>`
    );
  });
  const exempted = run.exempted.length
    ? `<h2>Exempted</h2><table>${head(["Server", "Rule", "Subject", "Until", "Reason"])}${run.exempted
        .map(
          (x) =>
            `<tr><td>${e(x.finding.server)}</td><td>${e(x.finding.check)}</td><td>${e(x.finding.subject)}</td><td>${e(x.exemption.expires)}</td><td>${e(x.exemption.reason)}</td></tr>`,
        )
        .join("")}</table>`
    : "";
  const verdict = run.findings.length
    ? `<p class="drift">${run.findings.length} finding(s): ${Object.entries(counts)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${e(s)}`)
        .join(", ")}</p>`
    : `<p class="ok">No drift.</p>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>zeroroot drift ${e(run.at)}</title><style>${CSS}</style></head>
<body><h1>zeroroot drift — ${e(run.at)}</h1>
<p>Stacks: ${e(run.stacks.join(", ") || "none")} · ${run.servers.length} server(s)</p>${verdict}
<h2>Findings over time</h2>${findingsChart(timeline(run, since))}
${sections.join("\n")}
${exempted}
</body></html>
`;
}
