/**
 * Findings over time as an inline SVG line chart (no script, no external asset): one line for all
 * findings and one per severity that occurred, a point per run. Pure.
 */
import { escapeHtml } from "./html-escape";

export interface ChartPoint {
  readonly at: string;
  readonly total: number;
  readonly bySeverity: Record<string, number>;
}

const COLORS: Record<string, string> = {
  total: "#1f2937",
  critical: "#b91c1c",
  high: "#ea580c",
  medium: "#ca8a04",
  low: "#2563eb",
};

/** At most this many points are drawn (evenly thinned): a chart of 1,344 runs stays small. */
export const MAX_CHART_POINTS = 400;

export function findingsChart(points: readonly ChartPoint[], width = 760, height = 220): string {
  const step = Math.max(1, Math.ceil(points.length / MAX_CHART_POINTS));
  const pts = points.filter((_, i) => i % step === 0 || i === points.length - 1);
  const pad = { left: 44, right: 12, top: 14, bottom: 34 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const max = Math.max(1, ...pts.map((p) => p.total));
  const x = (i: number) => pad.left + (pts.length <= 1 ? w / 2 : (i * w) / (pts.length - 1));
  const y = (v: number) => pad.top + h - (v * h) / max;
  const series = ["critical", "high", "medium", "low", "total"].filter(
    (s) => s === "total" || pts.some((p) => (p.bySeverity[s] ?? 0) > 0),
  );
  const valueOf = (p: ChartPoint, s: string) => (s === "total" ? p.total : (p.bySeverity[s] ?? 0));
  const lines = series.map((s) => {
    const coords = pts.map((p, i) => `${x(i).toFixed(1)},${y(valueOf(p, s)).toFixed(1)}`).join(" ");
    const dots = pts
      .map(
        (p, i) =>
          `<circle cx="${x(i).toFixed(1)}" cy="${y(valueOf(p, s)).toFixed(1)}" r="2.5" fill="${COLORS[s]}"><title>${escapeHtml(`${p.at}: ${valueOf(p, s)} ${s}`)}</title></circle>`,
      )
      .join("");
    // Total dashed on top: where one severity makes all findings, both lines stay visible.
    const dash = s === "total" ? ` stroke-dasharray="6 4"` : "";
    return `<polyline class="series-${s}" fill="none" stroke="${COLORS[s]}" stroke-width="${s === "total" ? 2 : 1.5}"${dash} points="${coords}"/>${dots}`;
  });
  const ticks = [0, Math.round(max / 2), max]
    .filter((v, i, a) => a.indexOf(v) === i)
    .map(
      (v) =>
        `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/><text x="${pad.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v}</text>`,
    )
    .join("");
  const first = pts[0]?.at ?? "";
  const last = pts[pts.length - 1]?.at ?? "";
  const legend = series
    .map(
      (s, i) =>
        `<rect x="${pad.left + i * 90}" y="${height - 14}" width="10" height="10" fill="${COLORS[s]}"/><text x="${pad.left + i * 90 + 14}" y="${height - 5}" font-size="11">${s}</text>`,
    )
    .join("");
  return (
    `<svg id="findings-chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Findings per run over time">` +
    `<title>Findings per run, ${escapeHtml(first)} to ${escapeHtml(last)}</title>${ticks}${lines.join("")}` +
    `<text x="${pad.left}" y="${height - 20}" font-size="10">${escapeHtml(first.slice(0, 16))}</text>` +
    `<text x="${width - pad.right}" y="${height - 20}" font-size="10" text-anchor="end">${escapeHtml(last.slice(0, 16))}</text>` +
    `${legend}</svg>`
  );
}
