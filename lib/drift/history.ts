/**
 * The local history of drift runs: one JSON file per run in a directory (the systemd unit's
 * StateDirectory, or `.zeroroot/drift` of the project). Bounded in count and in bytes: the oldest
 * runs go first, a run keeps at most `maxFindingsPerRun` findings, and a file larger than the bound
 * (or not of this format) is skipped when read, never trusted.
 */
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { RunRecord } from "./noise";

export const HISTORY_LIMITS = {
  /** Runs kept: a run every 15 minutes for two weeks. */
  maxRuns: 1_344,
  /** Bytes of all run files together. */
  maxBytes: 64 * 1024 * 1024,
  /** Bytes of one run file; larger ones are skipped when read (5,000 findings of ~2 KB fit). */
  maxRunBytes: 16 * 1024 * 1024,
  maxFindingsPerRun: 5_000,
} as const;

const FILE = /^run-(\d{13})-[0-9a-f]{8}\.json$/;
const KIND = "zeroroot.drift-run/v1";

export interface HistoryOptions {
  readonly maxRuns?: number;
  readonly maxBytes?: number;
}

/** Run files, oldest first. */
function runFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return names.filter((n) => FILE.test(n)).sort();
}

/** The stored runs at or after `sinceMs` (all when absent), oldest first; bad files are skipped. */
export function loadHistory(dir: string, sinceMs?: number): RunRecord[] {
  const out: RunRecord[] = [];
  for (const name of runFiles(dir).slice(-HISTORY_LIMITS.maxRuns)) {
    const at = Number(FILE.exec(name)![1]);
    if (sinceMs !== undefined && at < sinceMs) continue;
    const path = join(dir, name);
    try {
      if (statSync(path).size > HISTORY_LIMITS.maxRunBytes) continue;
      const data = JSON.parse(readFileSync(path, "utf8")) as { kind?: unknown; run?: RunRecord };
      if (data.kind !== KIND || !isRunRecord(data.run)) continue;
      out.push(data.run);
    } catch {
      continue; // a truncated or foreign file is not history
    }
  }
  return out;
}

function isRunRecord(r: unknown): r is RunRecord {
  const x = r as RunRecord | undefined;
  return (
    !!x &&
    typeof x.at === "string" &&
    Array.isArray(x.stacks) &&
    typeof x.servers === "number" &&
    Array.isArray(x.findings) &&
    x.findings.every((f) => f && typeof f.key === "string" && typeof f.stack === "string")
  );
}

/** Stores a run (atomically: write then rename) and prunes the oldest beyond the bounds. */
export function appendHistory(dir: string, run: RunRecord, opts: HistoryOptions = {}): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ms = Date.parse(run.at);
  const rand = Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, "0");
  const name = `run-${String(ms).padStart(13, "0")}-${rand}.json`;
  const body = JSON.stringify({ kind: KIND, run });
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, body, { mode: 0o600 });
  renameSync(tmp, join(dir, name));
  pruneHistory(dir, opts);
  return join(dir, name);
}

/** Deletes the oldest runs until at most maxRuns files and maxBytes remain. */
export function pruneHistory(dir: string, opts: HistoryOptions = {}): void {
  const maxRuns = opts.maxRuns ?? HISTORY_LIMITS.maxRuns;
  const maxBytes = opts.maxBytes ?? HISTORY_LIMITS.maxBytes;
  const files = runFiles(dir).map((n) => ({ path: join(dir, n), size: statSync(join(dir, n)).size }));
  let total = files.reduce((s, f) => s + f.size, 0);
  let count = files.length;
  for (const f of files) {
    if (count <= maxRuns && total <= maxBytes) break;
    unlinkSync(f.path);
    count--;
    total -= f.size;
  }
}

/** `--since`: `7d`, `24h`, `90m`, or an ISO date/instant; returns epoch ms, or undefined if malformed. */
export function parseSince(text: string, now: number): number | undefined {
  const rel = /^(\d{1,6})([dhm])$/.exec(text);
  if (rel)
    return now - Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as "d" | "h" | "m"];
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}
