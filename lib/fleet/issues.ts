/**
 * A configuration problem, reported the way STYLE.md asks: where (config key path, and file and
 * line when known), what was received, what is allowed, how to fix it. Validators collect all of
 * them before reporting, so a user fixes a stack file in one pass.
 */
import { escapeForMessage } from "../pki/identity";

export interface ConfigIssue {
  /** Config key path, e.g. `zeroroot:dataCenter.servers[2].macs[0]`. */
  readonly path: string;
  /** What was there, already redacted when the value is or should be secret. */
  readonly received: string;
  readonly allowed: string;
  readonly fix: string;
  readonly file?: string;
  readonly line?: number;
}

/** Thrown by `resolve*` functions: carries every issue, its message lists them all. */
export class ConfigValidationError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(formatIssues(issues));
    this.name = "ConfigValidationError";
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.file ? `${issue.file}${issue.line ? `:${issue.line}` : ""}: ${issue.path}` : issue.path;
  return `${where}\n    received: ${issue.received}\n    allowed:  ${issue.allowed}\n    fix:      ${issue.fix}`;
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  const n = issues.length;
  return (
    `${n} configuration error${n === 1 ? "" : "s"}:\n` + issues.map((i) => `  - ${formatIssue(i)}`).join("\n")
  );
}

/**
 * Key path segments → `a.b[2].c`, the notation `pulumi config set --path` uses. A key that is not a
 * plain word is written `["..."]`, escaped, so a hostile key cannot forge a line of the report.
 */
export function joinPath(segments: readonly (string | number)[]): string {
  return segments.reduce<string>((acc, s, i) => {
    if (typeof s === "number") return `${acc}[${s}]`;
    const plain = i === 0 ? /^[A-Za-z0-9_.:-]+$/.test(s) : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s);
    if (!plain) return `${acc}["${escapeForMessage(s)}"]`;
    return acc ? `${acc}.${s}` : s;
  }, "");
}

/** Shows a received value briefly; secrets and password-like paths are never shown. */
export function describeValue(value: unknown, secretLike = false): string {
  if (value === undefined) return "nothing (the key is missing)";
  if (secretLike)
    return typeof value === "string" ? "a string (value hidden)" : `a ${typeof value} (value hidden)`;
  if (typeof value === "string") {
    // Escaped (control, bidi and other non-ASCII characters), and cut before escaping: a huge
    // string costs nothing to describe.
    const shown = escapeForMessage(value.length > 80 ? value.slice(0, 77) : value);
    return value.length > 80 ? `"${shown}..." (${value.length} characters)` : `"${shown}"`;
  }
  let text: string;
  try {
    text = escapeForMessage(JSON.stringify(value) ?? String(value));
  } catch {
    text = `a ${typeof value}`;
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
