/**
 * Source-mapped stack traces at a fraction of Node's cost, for the unit tier (loaded by
 * test/.mocharc.unit.json `require`).
 *
 * Why: the Pulumi SDK formats `new Error().stack` for every promise it makes (debuggablePromise,
 * for its leak report), and under tsx Node maps each frame through its source-map code, which
 * converts the frame's path to a URL and back and looks the map up again for every frame, even for
 * the SDK's own JavaScript that has no map. That was 15% of the CPU of the files that evaluate
 * stack programs (4.4 s of 30 s, CPU profile, 2 Dec 2026). This formatter keeps the output a
 * reader needs — TypeScript file, line and column of each frame, as Node prints them — and looks
 * each file's source map up once.
 */
import { findSourceMap, type SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

const maps = new Map<string, SourceMap | undefined>();

function sourceMapOf(file: string): SourceMap | undefined {
  if (!maps.has(file)) {
    // Only TypeScript that tsx compiled carries a map; node_modules and node: frames are printed as V8 prints them.
    const compiled = /\.[cm]?tsx?$/.test(file) && !file.includes("/node_modules/");
    maps.set(file, compiled ? findSourceMap(file) : undefined);
  }
  return maps.get(file);
}

/** One frame as Node prints a source-mapped frame: `at name (file.ts:line:column)`. */
function frameText(site: NodeJS.CallSite): string {
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  const map = file && line !== null && column !== null ? sourceMapOf(file) : undefined;
  if (!map || line === null || column === null) return String(site);
  const entry = map.findEntry(line - 1, column - 1) as Partial<{
    originalSource: string;
    originalLine: number;
    originalColumn: number;
  }>;
  if (
    entry.originalSource === undefined ||
    entry.originalLine === undefined ||
    entry.originalColumn === undefined
  )
    return String(site);
  const source = entry.originalSource.startsWith("file://")
    ? fileURLToPath(entry.originalSource)
    : entry.originalSource;
  const typeName = site.getTypeName();
  const fnName = site.getFunctionName() ?? site.getMethodName();
  const name = `${typeName !== null && typeName !== "global" ? `${typeName}.` : ""}${fnName ?? "<anonymous>"}`;
  const prefix = site.isAsync() ? "async " : site.isConstructor() ? "new " : "";
  return `${prefix}${name} (${source}:${entry.originalLine + 1}:${entry.originalColumn + 1})`;
}

function heading(error: unknown): string {
  try {
    // Node's own errors carry their code in their name while the stack is captured: `TypeError [ERR_X]: …`.
    return Error.prototype.toString.call(error);
  } catch {
    return "<error>";
  }
}

/** A frame that cannot be mapped is printed as V8 prints it: a stack trace must never throw. */
function frameOrPlain(site: NodeJS.CallSite): string {
  try {
    return frameText(site);
  } catch {
    return String(site);
  }
}

const format = (error: unknown, sites: NodeJS.CallSite[]) =>
  sites.length === 0
    ? heading(error)
    : `${heading(error)}\n    at ${sites.map(frameOrPlain).join("\n    at ")}`;

/**
 * The SDK keeps a promise's stack only to print it in its report of promises left pending at exit,
 * through a template string: that stack is formatted when (if ever) the report prints it.
 */
const PULUMI_PROMISE_STACK = /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/;

Error.prepareStackTrace = (error, sites) =>
  PULUMI_PROMISE_STACK.test(sites[0]?.getFileName() ?? "")
    ? { toString: () => format(error, sites) }
    : format(error, sites);
