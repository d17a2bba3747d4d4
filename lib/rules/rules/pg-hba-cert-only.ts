import { finding, show, type Finding, type Rule } from "../types";
import { configFilesOf, knownDatastores, type DatastoresView } from "../datastore-views";
import { hbaLines } from "./datastore-parse";

export type PgHbaCertOnlyConfig = Record<string, never>;

const meta = {
  name: "pg-hba-cert-only",
  description:
    "Checks that a PostgreSQL pg_hba.conf (a release's template or a live host's file) lets clients in only by certificate: hostssl lines with method cert (or reject), local lines with peer (or reject), and no host, hostnossl, hostgssenc line nor any password, trust, md5, scram-sha-256, ident or other method.",
  severity: "critical",
  remediation:
    "Write every network line as `hostssl <db> <user> <network> cert clientcert=verify-full map=<map>` and local lines as `local <db> <user> peer`; delete host/hostnossl lines and every password, trust, md5, scram-sha-256 or ident method.",
  invariant: "3. Zero password",
  defaults: {},
  configSchema: {},
} as const;

/** Methods allowed per connection type; everything else is a finding. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  hostssl: ["cert", "reject"],
  local: ["peer", "reject"],
};

export const pgHbaCertOnly: Rule<DatastoresView, PgHbaCertOnlyConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(view) {
    const out: Finding[] = [];
    for (const d of knownDatastores(view, "postgresql"))
      for (const f of configFilesOf(d, /hba/i))
        for (const rec of hbaLines(f.text)) {
          const where = `${show(f.file)} line ${rec.line}`;
          const problem = recordProblem(rec.tokens.map((t) => t.text));
          if (problem) out.push(finding(meta, `${where}: ${problem}`, view.ref, `${f.path}:${rec.line}`));
        }
    return out;
  },
};

/** Why one pg_hba record lets a client in otherwise than by certificate, or undefined. */
function recordProblem(tokens: readonly string[]): string | undefined {
  const type = tokens[0].toLowerCase();
  if (type.startsWith("include"))
    return `${show(tokens[0])} pulls in another file, which this rule cannot judge; write its lines here`;
  const allowed = ALLOWED[type];
  if (!allowed)
    return `connection type ${show(tokens[0])} is not allowed; allowed: hostssl (method cert) and local (method peer)`;
  // local: type db user method [options]; hostssl: type db user address [mask] method [options].
  // An address without a /prefix is followed by its mask (IPv4 or IPv6) in the next field.
  const address = tokens[3] ?? "";
  const separateMask = /^(\d+\.\d+\.\d+\.\d+|[0-9a-f]*:[0-9a-f:.]*)$/i.test(address);
  const methodAt = type === "local" ? 3 : separateMask ? 5 : 4;
  const method = tokens[methodAt]?.toLowerCase();
  if (method === undefined) return `the ${type} line names no authentication method`;
  if (!allowed.includes(method))
    return `method ${show(tokens[methodAt])} on a ${type} line is not allowed; allowed: ${allowed.join(", ")}`;
  if (method === "cert") {
    const verify = tokens.slice(methodAt + 1).find((t) => /^clientcert=/i.test(t));
    if (verify && !/^clientcert=verify-full$/i.test(verify))
      return `${show(verify)} weakens certificate checking; use clientcert=verify-full (or leave it out: cert implies it)`;
  }
  return undefined;
}
