/**
 * Tokenisers for the configuration languages the datastore rules read: pg_hba.conf lines, MariaDB
 * option files (my.cnf) and MariaDB SQL. Written for hostile input: comments anywhere, tabs, any case,
 * quoted tokens, line continuations, MariaDB's executable comments (`/*! ... *\/`, run by the server).
 * They read; they never try to be a full parser: what they cannot read, the rules report.
 */

/** Largest text the tokenisers read; a release template is bounded far below (RELEASE_LIMITS). */
export const MAX_CONFIG_TEXT = 1_000_000;

export interface HbaToken {
  readonly text: string;
  readonly quoted: boolean;
}
export interface HbaLine {
  /** 1-based line where the record starts. */
  readonly line: number;
  readonly tokens: readonly HbaToken[];
}

/**
 * pg_hba.conf records: `#` starts a comment outside quotes, a backslash at the end of a line continues
 * the record (PostgreSQL 16), tokens are separated by blanks (spaces, tabs), `"..."` quotes (`""` is a
 * quote inside).
 */
export function hbaLines(text: string): HbaLine[] {
  const out: HbaLine[] = [];
  const lines = text.slice(0, MAX_CONFIG_TEXT).split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let logical = lines[i];
    while (/\\$/.test(stripHbaComment(logical)) && i + 1 < lines.length)
      logical = stripHbaComment(logical).slice(0, -1) + lines[++i];
    const tokens = hbaTokens(stripHbaComment(logical));
    if (tokens.length > 0) out.push({ line: start, tokens });
  }
  return out;
}

function stripHbaComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (line[i] === "#" && !quoted) return line.slice(0, i);
  }
  return line;
}

function hbaTokens(line: string): HbaToken[] {
  const tokens: HbaToken[] = [];
  let cur = "";
  let quoted = false;
  let inQuotes = false;
  let any = false;
  const flush = () => {
    if (any) tokens.push({ text: cur, quoted });
    cur = "";
    quoted = false;
    any = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inQuotes) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') inQuotes = false;
      else cur += c;
    } else if (c === '"') {
      inQuotes = quoted = any = true;
    } else if (/\s/.test(c)) flush();
    else {
      cur += c;
      any = true;
    }
  }
  flush();
  return tokens;
}

export interface OptionSetting {
  /** Normalised: lower case, `-` as `_`, without `loose_`. */
  readonly name: string;
  /** Value as written (unquoted), "" for a bare flag; `skip_x`/`disable_x` give x = "0", `enable_x` x = "1". */
  readonly value: string;
  readonly group: string;
  readonly line: number;
}

/** MariaDB option file settings, in file order; `!include` lines are returned as name "!include". */
export function optionSettings(text: string): OptionSetting[] {
  const out: OptionSetting[] = [];
  let group = "";
  text
    .slice(0, MAX_CONFIG_TEXT)
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
      const g = /^\[\s*([^\]]*?)\s*\]/.exec(line);
      if (g) return void (group = g[1].toLowerCase().replace(/-/g, "_"));
      if (line.startsWith("!")) return void out.push({ name: "!include", value: line, group, line: i + 1 });
      const m = /^([^=\s#]+)\s*(?:=\s*(.*))?$/.exec(line.replace(/\s+#.*$/, ""));
      if (!m) return;
      let name = m[1].toLowerCase().replace(/-/g, "_");
      let value = (m[2] ?? "").trim().replace(/^(["'])(.*)\1$/, "$2");
      if (name.startsWith("loose_")) name = name.slice(6);
      const neg = /^(skip|disable)_(.+)$/.exec(name);
      const pos = /^enable_(.+)$/.exec(name);
      if (neg && name !== "skip_grant_tables" && name !== "skip_networking") {
        name = neg[2];
        value = "0";
      } else if (pos) {
        name = pos[1];
        value = "1";
      }
      out.push({ name, value, group, line: i + 1 });
    });
  return out;
}

/** Option groups the MariaDB server reads (10.11: [mysqld], [server], [mariadb], [mariadbd], [galera] and versioned ones). */
export const SERVER_GROUPS = /^(?:mysqld|mariadbd|server|mariadb|galera)(?:_[\d.]+)?$/;

export type SqlToken =
  | { readonly kind: "word"; readonly text: string; readonly upper: string }
  | { readonly kind: "string"; readonly text: string }
  | { readonly kind: "punct"; readonly text: string };

export interface SqlStatement {
  readonly line: number;
  readonly tokens: readonly SqlToken[];
}

/**
 * MariaDB SQL statements, split at `;` outside strings, comments removed (`-- `, `#`, `/* *\/`); the
 * content of executable comments (`/*! ... *\/`, `/*M!100500 ... *\/`) is kept, since the server runs it.
 */
export function sqlStatements(text: string): SqlStatement[] {
  const src = text.slice(0, MAX_CONFIG_TEXT);
  const out: SqlStatement[] = [];
  let tokens: SqlToken[] = [];
  let line = 1;
  let stmtLine = 1;
  let i = 0;
  const end = () => {
    if (tokens.length) out.push({ line: stmtLine, tokens });
    tokens = [];
  };
  while (i < src.length) {
    const c = src[i];
    if (c === "\n") line++;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (tokens.length === 0) stmtLine = line;
    if ((c === "-" && src[i + 1] === "-" && /[\s]|$/.test(src[i + 2] ?? "")) || c === "#") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const exec = /^\/\*M?!\d*/.exec(src.slice(i, i + 12));
      if (exec)
        i += exec[0].length; // executable: its content is read as SQL, its "*/" skipped below
      else {
        const close = src.indexOf("*/", i + 2);
        const stop = close < 0 ? src.length : close + 2;
        line += (src.slice(i, stop).match(/\n/g) ?? []).length;
        i = stop;
      }
    } else if (c === "*" && src[i + 1] === "/") i += 2;
    else if (c === "'" || c === '"' || c === "`") {
      let s = "";
      let j = i + 1;
      for (; j < src.length; j++) {
        if (src[j] === "\\" && c !== "`") s += src[++j] ?? "";
        else if (src[j] === c && src[j + 1] === c) {
          s += c;
          j++;
        } else if (src[j] === c) break;
        else s += src[j];
      }
      line += (s.match(/\n/g) ?? []).length;
      tokens.push(
        c === "`" ? { kind: "word", text: s, upper: s.toUpperCase() } : { kind: "string", text: s },
      );
      i = j + 1;
    } else if (c === ";") {
      end();
      i++;
    } else if (/[A-Za-z0-9_$]/.test(c)) {
      const w = /^[A-Za-z0-9_$.]+/.exec(src.slice(i, i + 256))![0];
      tokens.push({ kind: "word", text: w, upper: w.toUpperCase() });
      i += w.length;
    } else {
      tokens.push({ kind: "punct", text: c });
      i++;
    }
  }
  end();
  return out;
}
