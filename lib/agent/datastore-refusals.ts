/**
 * Connections a datastore refused, read from its log. Pure: the agent (agents/node/refusal-logs.ts)
 * reads the new bytes of each instance's log and hands them here; what comes back is raised as
 * `datastore-refusal` alerts (refusal-windows.ts bounds how many).
 *
 * Both releases log to stderr, which the partition's supervisord writes to
 * `<partition>/supervisor/log/<program>.log` (DATASTORE_LOG_PROGRAM names the program). The text is
 * hostile: a client chooses the user name it asks for, so a line may hold quotes, newlines, control
 * or bidi characters, or be endless. Nothing here throws on it: lines are cut, names escaped.
 */
import { escapeForMessage } from "../pki/identity";

import { datastoreEngineOf, type DatastoreEngine } from "../fleet/datastore-engines";

export type { DatastoreEngine };

export type RefusalReason =
  | "certificate-authentication-failed"
  | "no-hba-entry"
  | "hba-rejected"
  | "client-certificate-required"
  | "tls-certificate-refused"
  | "access-denied";

export interface DatastoreRefusal {
  readonly engine: DatastoreEngine;
  /** The user asked for, as the datastore logged it, escaped; "" when the line names none. */
  readonly user: string;
  /** The client's address as logged, escaped; "" when the log does not say. */
  readonly clientAddress: string;
  readonly reason: RefusalReason;
  /** The log line, escaped and cut to LIMITS.lineShown characters before escaping. */
  readonly line: string;
}

export const REFUSAL_LIMITS = {
  /** Bytes read from one log per pass: a flood is read over several passes, never at once. */
  readBytes: 256 * 1024,
  /** Bytes of one line looked at; the rest of a longer line is ignored. */
  lineBytes: 4096,
  /** Characters of a line, a user or an address kept (before escaping). */
  lineShown: 240,
  userShown: 96,
  addressShown: 64,
  /** PostgreSQL backends whose client address is remembered (by pid) until their refusal is logged. */
  backendsRemembered: 512,
} as const;

/**
 * The program of a datastore release that runs the server and so writes its log, by engine: the
 * releases name their programs from here (lab/orchestrate/release-postgresql.ts,
 * lab/releases/mariadb-galera/release.ts). Which releases are datastores is lib/fleet's rule.
 */
export const DATASTORE_LOG_PROGRAM: Readonly<Record<DatastoreEngine, string>> = {
  postgresql: "postgres",
  mariadb: "mariadbd",
};

/** The engine and log program of a release, or undefined when it is not a datastore. */
export function datastoreLogOf(
  releaseName: string,
): { readonly engine: DatastoreEngine; readonly program: string } | undefined {
  const engine = datastoreEngineOf(releaseName);
  return engine && { engine, program: DATASTORE_LOG_PROGRAM[engine] };
}

/**
 * What a log's reader carries from one pass to the next: PostgreSQL names a refused certificate's
 * client only in the backend's earlier `connection received` line, so the backend pid → address.
 */
export interface RefusalMemory {
  readonly backends: Map<string, string>;
}

export const newRefusalMemory = (): RefusalMemory => ({ backends: new Map() });

const NL = 0x0a;

/**
 * The complete lines of `chunk` (bytes read from a log), each cut to LIMITS.lineBytes. `consumed`
 * stops after the last newline, so a partial last line is read again once completed; a chunk of
 * readBytes without any newline is consumed whole and the rest of that line skipped (`skipping`).
 */
export function completeLines(
  chunk: Buffer,
  skipping: boolean,
  limits: { readonly readBytes: number; readonly lineBytes: number } = REFUSAL_LIMITS,
): { lines: string[]; consumed: number; skipping: boolean } {
  const lines: string[] = [];
  let start = 0;
  let skip = skipping;
  for (;;) {
    const nl = chunk.indexOf(NL, start);
    if (nl < 0) break;
    if (!skip) lines.push(chunk.subarray(start, Math.min(nl, start + limits.lineBytes)).toString("utf8"));
    skip = false;
    start = nl + 1;
  }
  // one line longer than a whole read: dropped, never waited for
  if (start === 0 && chunk.length >= limits.readBytes)
    return { lines, consumed: chunk.length, skipping: true };
  return { lines, consumed: start, skipping: skip };
}

const shown = (text: string, max: number): string =>
  text.length > max ? `${escapeForMessage(text.slice(0, max))}...` : escapeForMessage(text);

// PostgreSQL's default log_line_prefix '%m [%p] ': the backend pid, then the severity. A message's
// further lines (a user name with a newline) start with a tab, so a name cannot forge a line.
const PG_LINE = /^\S[^[]*\[(\d{1,10})\]\s+(LOG|FATAL|ERROR|DETAIL|WARNING):\s+(.*)$/;
const PG_RECEIVED = /^connection received: host=(\S*)/;
const PG_RULES: readonly { re: RegExp; reason: RefusalReason; user?: number; host?: number }[] = [
  // greedy: a user name holding quotes runs to the last one; one holding a newline ends the line
  {
    re: /^certificate authentication failed for user "(.*)"$/,
    reason: "certificate-authentication-failed",
    user: 1,
  },
  {
    re: /^certificate authentication failed for user "(.*)$/,
    reason: "certificate-authentication-failed",
    user: 1,
  },
  {
    re: /^no pg_hba\.conf entry for host "([^"]*)", user "(.*)", database "/,
    reason: "no-hba-entry",
    host: 1,
    user: 2,
  },
  {
    re: /^pg_hba\.conf rejects connection for host "([^"]*)", user "(.*)", database "/,
    reason: "hba-rejected",
    host: 1,
    user: 2,
  },
  { re: /^connection requires a valid client certificate/, reason: "client-certificate-required" },
  { re: /^could not accept SSL connection: .*certificate verify failed/, reason: "tls-certificate-refused" },
];

function postgresql(line: string, memory: RefusalMemory): DatastoreRefusal | undefined {
  const m = PG_LINE.exec(line);
  if (!m) return undefined;
  const [, pid, , message] = m;
  const received = PG_RECEIVED.exec(message);
  if (received) {
    const b = memory.backends;
    b.delete(pid);
    b.set(pid, received[1].slice(0, REFUSAL_LIMITS.addressShown));
    if (b.size > REFUSAL_LIMITS.backendsRemembered) b.delete(b.keys().next().value as string);
    return undefined;
  }
  for (const rule of PG_RULES) {
    const r = rule.re.exec(message);
    if (!r) continue;
    const address = rule.host !== undefined ? r[rule.host] : (memory.backends.get(pid) ?? "");
    return {
      engine: "postgresql",
      user: rule.user !== undefined ? shown(r[rule.user], REFUSAL_LIMITS.userShown) : "",
      clientAddress: shown(address, REFUSAL_LIMITS.addressShown),
      reason: rule.reason,
      line: shown(line, REFUSAL_LIMITS.lineShown),
    };
  }
  return undefined;
}

// MariaDB's error log: `<date> <time> <thread> [Warning] Access denied for user 'u'@'host' (using
// password: NO)`. The user is cut to 48 characters by MariaDB, too short to forge a whole line with
// its date; greedy, a user holding `'` runs to the last `'@'`.
const MARIADB_DENIED =
  /^\d{4}-\d\d-\d\d\s+\d{1,2}:\d\d:\d\d\s+\d+\s+\[(?:Warning|Note|ERROR)\] Access denied for user '(.*)'@'([^']*)'/;

function mariadb(line: string): DatastoreRefusal | undefined {
  const m = MARIADB_DENIED.exec(line);
  if (!m) return undefined;
  return {
    engine: "mariadb",
    user: shown(m[1], REFUSAL_LIMITS.userShown),
    clientAddress: shown(m[2], REFUSAL_LIMITS.addressShown),
    reason: "access-denied",
    line: shown(line, REFUSAL_LIMITS.lineShown),
  };
}

/** The refusals in complete `lines` of an `engine`'s log, in order. */
export function findRefusals(
  engine: DatastoreEngine,
  lines: readonly string[],
  memory: RefusalMemory = newRefusalMemory(),
): DatastoreRefusal[] {
  const out: DatastoreRefusal[] = [];
  for (const raw of lines) {
    const line = raw.length > REFUSAL_LIMITS.lineBytes ? raw.slice(0, REFUSAL_LIMITS.lineBytes) : raw;
    const r = engine === "postgresql" ? postgresql(line, memory) : mariadb(line);
    if (r) out.push(r);
  }
  return out;
}

/** The refusals in a chunk of new log text; a partial last line (no newline yet) is ignored. */
export function parseRefusals(
  engine: DatastoreEngine,
  text: string,
  memory: RefusalMemory = newRefusalMemory(),
): DatastoreRefusal[] {
  const bytes = Buffer.from(text, "utf8");
  const chunk = bytes.length > REFUSAL_LIMITS.readBytes ? bytes.subarray(0, REFUSAL_LIMITS.readBytes) : bytes;
  return findRefusals(engine, completeLines(chunk, false).lines, memory);
}
