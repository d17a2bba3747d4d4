/**
 * The Lynis audit of an image, as data: the project's Lynis profile (tests judged not to apply to
 * a zeroroot server, each justified in docs/hardening.md), the target, and the reader of Lynis's
 * report file. Pure; lab/image/lynis.ts runs Lynis in a chroot of the unpacked image.
 */

/** The Lynis release the figures were measured with (Debian 12's `lynis` package). */
export const LYNIS_VERSION = "3.0.8";

/** Hardening index every image must reach under the project's profile. */
export const LYNIS_MIN_INDEX = 90;

/**
 * Tests skipped by the project's profile (`skip-test=`): each asks for a tool or daemon whose job
 * the zeroroot design does another way, or which would be one more root process on a machine whose
 * point is to have none. Skipped tests count neither for nor against the index. The reason for
 * each is one row of the "Lynis" table of docs/hardening.md (a unit test keeps both in step).
 */
export const LYNIS_SKIPPED_TESTS: readonly string[] = [
  "ACCT-9622",
  "ACCT-9626",
  "ACCT-9628",
  "AUTH-9262",
  "DEB-0280",
  "DEB-0810",
  "DEB-0811",
  "DEB-0831",
  "DEB-0880",
  "FINT-4350",
  "HRDN-7230",
  "KRNL-6000",
  "LOGG-2130",
  "LOGG-2138",
  "MALW-3280",
  "PKGS-7370",
  "PKGS-7420",
  "TIME-3104",
  "TOOL-5190",
  "USB-3000",
];

/** A Lynis profile that adds to `default.prf` (passed with `--profile`). */
export function renderLynisProfile(skipped: readonly string[] = LYNIS_SKIPPED_TESTS): string {
  for (const id of skipped)
    if (!TEST_ID.test(id)) throw new LynisReportError(`not a Lynis test id: ${JSON.stringify(id)}`);
  return [
    "# zeroroot: tests that do not apply to a zeroroot server (reasons: docs/hardening.md)",
    // the auditor's own release age is not a property of the image
    "skip-upgrade-test=yes",
    ...skipped.map((id) => `skip-test=${id}`),
    "",
  ].join("\n");
}

export interface LynisFinding {
  /** Test id (`AUTH-9286`), or `LYNIS` for remarks about Lynis itself. */
  readonly id: string;
  readonly text: string;
  readonly details: string;
}

export interface LynisReport {
  readonly hardeningIndex: number;
  readonly testsPerformed: number;
  readonly lynisVersion: string;
  /** Ids of the tests Lynis ran (`tests_executed=`). */
  readonly testsExecuted: readonly string[];
  readonly suggestions: readonly LynisFinding[];
  readonly warnings: readonly LynisFinding[];
}

export class LynisReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LynisReportError";
  }
}

const TEST_ID = /^(?:[A-Z]{3,5}-\d{4}|LYNIS)$/;
/** A report of a full audit is ~20 KB; anything far larger is not one. */
export const MAX_REPORT_BYTES = 4 * 1024 * 1024;
const MAX_FINDINGS = 1000;

/**
 * Reads `/var/log/lynis-report.dat` (`key=value` lines; `suggestion[]=ID|text|details|solution|`).
 * Refuses a report without a hardening index, with an index outside 0-100, or with more findings
 * or bytes than any audit produces, naming the line.
 */
export function parseLynisReport(text: string): LynisReport {
  if (text.length > MAX_REPORT_BYTES)
    throw new LynisReportError(`the report has ${text.length} bytes; at most ${MAX_REPORT_BYTES} expected`);
  const scalar = new Map<string, string>();
  const suggestions: LynisFinding[] = [];
  const warnings: LynisFinding[] = [];
  text.split("\n").forEach((line, i) => {
    const eq = line.indexOf("=");
    if (line.startsWith("#") || eq <= 0) return;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === "suggestion[]" || key === "warning[]") {
      const [id, body = "", details = "-"] = value.split("|");
      if (!TEST_ID.test(id))
        throw new LynisReportError(`line ${i + 1}: ${key} has test id ${JSON.stringify(id.slice(0, 40))}`);
      const list = key === "warning[]" ? warnings : suggestions;
      if (suggestions.length + warnings.length >= MAX_FINDINGS)
        throw new LynisReportError(`more than ${MAX_FINDINGS} findings: not a Lynis report`);
      list.push({ id, text: body, details });
    } else if (!key.endsWith("[]")) scalar.set(key, value);
  });
  const index = scalar.get("hardening_index");
  if (index === undefined || !/^\d{1,3}$/.test(index) || Number(index) > 100)
    throw new LynisReportError(
      `hardening_index is ${index === undefined ? "missing" : JSON.stringify(index.slice(0, 40))}; expected 0-100 (did the audit finish?)`,
    );
  return {
    hardeningIndex: Number(index),
    testsPerformed: Number(scalar.get("lynis_tests_done") ?? NaN),
    lynisVersion: scalar.get("lynis_version") ?? "unknown",
    testsExecuted: (scalar.get("tests_executed") ?? "").split("|").filter((id) => TEST_ID.test(id)),
    suggestions,
    warnings,
  };
}

/** Points a test earned and could have earned (`lynis.log`'s "Hardening: assigned ..." lines). */
export interface TestPoints {
  readonly id: string;
  readonly earned: number;
  readonly max: number;
}

/**
 * Hardening points per test from `/var/log/lynis.log`, in the order the tests ran: where an index
 * loses its points. Lines that do not parse are ignored (the log is informational; the index is
 * the report's).
 */
export function pointsByTest(log: string): TestPoints[] {
  const byId = new Map<string, { earned: number; max: number }>();
  let current: string | undefined;
  for (const line of log.split("\n")) {
    const test = /Performing test ID ([A-Z]{3,5}-\d{4})/.exec(line);
    if (test) current = test[1];
    if (!current || !line.includes("Hardening: assigned")) continue;
    const partial = /\((\d{1,4}) of (\d{1,4})\)/.exec(line);
    const full = /for this item \((\d{1,4})\)/.exec(line);
    const [earned, max] = partial
      ? [Number(partial[1]), Number(partial[2])]
      : full
        ? [Number(full[1]), Number(full[1])]
        : [0, 0];
    const p = byId.get(current) ?? { earned: 0, max: 0 };
    byId.set(current, { earned: p.earned + earned, max: p.max + max });
  }
  return [...byId].map(([id, p]) => ({ id, ...p }));
}

/**
 * Test ids with a reason in docs/hardening.md: the rows of its tables whose first cell starts
 * with one or more test ids (`| NETW-3200 dccp/sctp | ... |`, `| AUTH-9262, DEB-0880 | ... |`).
 */
export function justifiedTestIds(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of markdown.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4 || cells[0] !== "") continue;
    const ids = cells[1].match(/\b(?:[A-Z]{3,5}-\d{4}|LYNIS)\b/g) ?? [];
    if (cells[2] === "" || /^-+$/.test(cells[2])) continue;
    for (const id of ids) out.set(id, cells[2]);
  }
  return out;
}

/** Findings whose test id has no reason in the justification table. */
export function unjustifiedFindings(
  report: LynisReport,
  justified: ReadonlyMap<string, string>,
): LynisFinding[] {
  return [...report.warnings, ...report.suggestions].filter((f) => !justified.has(f.id));
}
