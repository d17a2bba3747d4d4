import { finding, show, type Finding, type Rule } from "../types";
import { configFilesOf, knownDatastores, type DatastoresView } from "../datastore-views";
import { optionSettings, SERVER_GROUPS, sqlStatements, type SqlToken } from "./datastore-parse";

export interface MariadbCertificateUsersConfig {
  /** Authentication plugins accepted without a certificate: the OS account over the unix socket only. */
  readonly localPlugins: readonly string[];
}

const meta = {
  name: "mariadb-certificate-users",
  description:
    "Checks that a MariaDB release's SQL creates users that log in only with a certificate of the right identity (REQUIRE SUBJECT ... AND ISSUER ..., no password), or as the local OS account over the unix socket, never anonymous users, passwords (IDENTIFIED BY, SET PASSWORD, password plugins) or REQUIRE NONE/SSL/X509 alone, and that its option files do not skip the grant tables.",
  severity: "critical",
  remediation:
    "Create each user as `CREATE USER 'alice'@'%' REQUIRE SUBJECT '/CN=alice' AND ISSUER '<issuing CA DN>'` with no IDENTIFIED clause (IDENTIFIED VIA unix_socket for the engine's own local account), never an anonymous ''@host user, and remove skip-grant-tables.",
  invariant: "3. Zero password",
  defaults: { localPlugins: ["unix_socket"] },
  configSchema: { localPlugins: { type: "array", items: { type: "string" } } },
} as const;

export const mariadbCertificateUsers: Rule<DatastoresView, MariadbCertificateUsersConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(view, config) {
    const out: Finding[] = [];
    for (const d of knownDatastores(view, "mariadb")) {
      for (const f of configFilesOf(d, /\.sql$/i))
        for (const st of sqlStatements(f.text))
          for (const problem of statementProblems(st.tokens, config))
            out.push(
              finding(
                meta,
                `${show(f.file)} statement at line ${st.line}: ${problem}`,
                view.ref,
                `${f.path}:${st.line}`,
              ),
            );
      for (const f of configFilesOf(d, /\.(cnf|ini|conf)$/i))
        for (const s of optionSettings(f.text))
          if (s.name === "skip_grant_tables" && SERVER_GROUPS.test(s.group))
            out.push(
              finding(
                meta,
                `${show(f.file)} line ${s.line}: skip-grant-tables lets anyone in as any user`,
                view.ref,
                `${f.path}:${s.line}`,
              ),
            );
    }
    return out;
  },
};

/** Keywords upper-cased; strings keep their quotes, so a string never reads as a keyword. */
const words = (ts: readonly SqlToken[]) =>
  ts.map((t) => (t.kind === "word" ? t.upper : t.kind === "punct" ? t.text : `'${t.text}'`));

/** Why one SQL statement gives a MariaDB account a password or a login without the right certificate. */
function statementProblems(tokens: readonly SqlToken[], config: MariadbCertificateUsersConfig): string[] {
  const w = words(tokens);
  const head = w.slice(0, 4).join(" ");
  const problems: string[] = [];
  if (/^SET PASSWORD\b/.test(head)) return ["SET PASSWORD gives an account a password"];
  if (/^(INSERT|REPLACE|UPDATE)\b/.test(head) && w.some((x) => /^MYSQL\.(USER|GLOBAL_PRIV)$/.test(x)))
    return ["writes the grant tables directly (mysql.user / mysql.global_priv); use CREATE USER ... REQUIRE"];
  const creates = /^CREATE (OR REPLACE )?USER\b/.test(head);
  const alters = /^ALTER USER\b/.test(head);
  const grants = w[0] === "GRANT";
  if (!creates && !alters && !grants) return [];
  if (creates) {
    const at = w.indexOf("USER") + 1 + (w[w.indexOf("USER") + 1] === "IF" ? 3 : 0);
    userSpecs(tokens, at).forEach((t) => {
      if (t.kind === "string" && t.text === "")
        problems.push("creates an anonymous user (''@host), whom any client matches");
    });
  }
  const local = authentication(w, config, problems);
  const req = w.indexOf("REQUIRE");
  if (req >= 0) {
    const clause = w.slice(req + 1, endOfRequire(w, req + 1));
    if (clause[0] === "NONE") problems.push("REQUIRE NONE lets the account in without a certificate");
    else if (!clause.includes("SUBJECT") || !clause.includes("ISSUER"))
      problems.push(
        `REQUIRE ${show(clause.join(" ").slice(0, 120))} does not name the identity: require SUBJECT '/CN=<name>' AND ISSUER '<issuing CA DN>' (SSL or X509 alone accept any certificate of the hierarchy, SUBJECT alone the same name from another data center)`,
      );
  } else if (creates && !local) problems.push("creates a user without REQUIRE SUBJECT ... AND ISSUER ...");
  return problems;
}

/** The user names of a CREATE USER list (the token at each list position). */
function userSpecs(tokens: readonly SqlToken[], from: number): SqlToken[] {
  const out: SqlToken[] = [];
  let expect = true;
  let depth = 0;
  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === "word" && /^(IDENTIFIED|REQUIRE|WITH|PASSWORD|ACCOUNT)$/.test(t.upper) && depth === 0) {
      if (t.upper === "IDENTIFIED") expect = false;
      else break;
    }
    if (t.kind === "punct" && t.text === "(") depth++;
    if (t.kind === "punct" && t.text === ")") depth--;
    if (expect) {
      out.push(t);
      expect = false;
    }
    if (t.kind === "punct" && t.text === "," && depth === 0) expect = true;
  }
  return out;
}

const endOfRequire = (w: readonly string[], from: number) => {
  const stop = w.slice(from).findIndex((x) => /^(WITH|PASSWORD|ACCOUNT)$/.test(x));
  return stop < 0 ? w.length : from + stop;
};

/** Reports passwords and password plugins; true when every IDENTIFIED clause is a local plugin. */
function authentication(
  w: readonly string[],
  config: MariadbCertificateUsersConfig,
  problems: string[],
): boolean {
  let local = false;
  for (let i = w.indexOf("IDENTIFIED"); i >= 0; i = w.indexOf("IDENTIFIED", i + 1)) {
    const next = w[i + 1];
    if (next === "BY") {
      problems.push("IDENTIFIED BY gives the account a password");
      continue;
    }
    if (next !== "VIA" && next !== "WITH") continue;
    // IDENTIFIED VIA a [USING x] [OR b [USING y]]...
    for (let j = i + 2; j < w.length; j++) {
      const plugin = w[j].replace(/^'|'$/g, "").toLowerCase();
      if (!config.localPlugins.includes(plugin))
        problems.push(
          `IDENTIFIED ${next} ${show(plugin)} authenticates without a certificate (password or other plugin)`,
        );
      else local = true;
      if (w[j + 1] === "USING" || w[j + 1] === "AS") {
        problems.push("USING/AS gives the account a secret");
        j += 2;
      }
      if (w[j + 1] !== "OR") break;
      j++;
    }
  }
  return local && !problems.some((p) => p.startsWith("IDENTIFIED"));
}
