/**
 * Clients of the lab's PostgreSQL, as a user runs them: certificates issued by a data center's CA the
 * way the lab makes its operator's (a CSR signed by the ceremony, the key made here), psql and
 * pgjdbc started in the dc1 management namespace (the operator's machine on the lab's networks).
 */
import { spawnSync } from "node:child_process";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createCsr,
  exportPkcs8,
  generateKeyPair,
  issueFromCsr,
  openCa,
  signWithCeremony,
} from "../../../lib/pki";
import { POSTGRESQL_PORT } from "../../../lib/hardening";
import { mgmtNs, type LabLayout } from "../../../lab/orchestrate/layout";
import { labServerRole } from "../../../lab/orchestrate/stacks";
import { postgresqlPlacements, type PostgresqlPlacement } from "../../../lab/orchestrate/stack-postgresql";

export interface ClientCert {
  readonly name: string;
  /** leaf + issuing CA (libpq and pgjdbc send the chain) */
  readonly chain: string;
  readonly key: string;
  /** PKCS#8 DER, what pgjdbc's sslkey reads */
  readonly pk8: string;
  readonly serial?: string;
}

export function placements(lab: LabLayout): { primary: PostgresqlPlacement; replica: PostgresqlPlacement } {
  const p = postgresqlPlacements(lab.plan, (d, s) => labServerRole(d, s.id) === "storage");
  if (!p.primary || p.replicas.length === 0) throw new Error("the lab has no PostgreSQL primary and replica");
  return { primary: p.primary, replica: p.replicas[0] };
}

/**
 * The PostgreSQL instance in `dc` (dc1's primary, dc2's replica) as a task of alice's cluster
 * reaches it there: service name, data address, port, her `analytics` database.
 */
export function aliceAnalyticsIn(lab: LabLayout, dc: string) {
  const { primary, replica } = placements(lab);
  const p = [primary, replica].find((x) => x.server.id.startsWith(`${dc}-`))!;
  return {
    host: p.serviceName,
    hostaddr: p.server.dataAddress,
    port: POSTGRESQL_PORT,
    db: "analytics",
    user: "alice",
  };
}

function save(
  dir: string,
  name: string,
  certPem: string,
  caPem: string,
  key: ReturnType<typeof generateKeyPair>,
) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const c = {
    name,
    chain: join(dir, `${name}.chain.pem`),
    key: join(dir, `${name}.key`),
    pk8: join(dir, `${name}.pk8`),
  };
  writeFileSync(c.chain, certPem + caPem, { mode: 0o600 });
  writeFileSync(c.key, exportPkcs8(key.privateKey), { mode: 0o600 });
  writeFileSync(c.pk8, exportPkcs8(key.privateKey, { format: "der" }), { mode: 0o600 });
  return c;
}

/** A certificate of `kind` for `name` from data center `dc`'s offline CA, recorded in the ceremony. */
export function issue(
  lab: LabLayout,
  dir: string,
  name: string,
  opts: { dc?: string; kind?: "user" | "software"; file?: string } = {},
): ClientCert {
  const dc = opts.dc ?? "dc1";
  const keys = generateKeyPair();
  const issued = signWithCeremony(
    lab.paths.pki,
    dc,
    lab.secrets.ceremonyPassphrase,
    opts.kind ?? "user",
    createCsr({ commonName: name }, keys.privateKey),
    { commonName: name },
  );
  const ca = readFileSync(join(lab.paths.pki, dc, "ca.pem"), "utf8");
  return { ...save(dir, opts.file ?? name, issued.certificatePem, ca, keys), serial: issued.serial };
}

/** A user certificate of the right CA whose validity ended yesterday. */
export function issueExpired(lab: LabLayout, dir: string, name: string): ClientCert {
  const keys = generateKeyPair();
  const ca = openCa(lab.paths.pki, "dc1", lab.secrets.ceremonyPassphrase);
  const issued = issueFromCsr(
    ca,
    "user",
    createCsr({ commonName: name }, keys.privateKey),
    { commonName: name, validityDays: 1 },
    { now: new Date(Date.now() - 3 * 86_400_000) },
  );
  return save(
    dir,
    `${name}-expired`,
    issued.certificatePem,
    readFileSync(join(lab.paths.pki, "dc1", "ca.pem"), "utf8"),
    keys,
  );
}

/** A user certificate named `name` from a CA that is not the platform's (made with openssl). */
export function issueForeign(dir: string, name: string): ClientCert {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (n: string) => join(dir, `foreign-${n}`);
  const ext = f("ext.cnf");
  writeFileSync(
    ext,
    "[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n[leaf]\nbasicConstraints=critical,CA:false\nextendedKeyUsage=clientAuth\n",
  );
  const ossl = (...a: string[]) => execFileSync("openssl", a, { stdio: "pipe" });
  ossl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
    "-subj",
    "/CN=foreign root",
    "-days",
    "2",
    "-addext",
    "basicConstraints=critical,CA:true",
  );
  ossl(
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    f("key.pem"),
    "-out",
    f("csr.pem"),
    "-subj",
    `/CN=${name}`,
  );
  ossl(
    "x509",
    "-req",
    "-in",
    f("csr.pem"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("leaf.pem"),
    "-days",
    "1",
    "-extfile",
    ext,
    "-extensions",
    "leaf",
  );
  ossl("pkcs8", "-topk8", "-nocrypt", "-in", f("key.pem"), "-out", f("key8.pem"));
  writeFileSync(f("chain.pem"), readFileSync(f("leaf.pem"), "utf8") + readFileSync(f("ca.pem"), "utf8"), {
    mode: 0o600,
  });
  return { name, chain: f("chain.pem"), key: f("key8.pem"), pk8: "" };
}

export interface PsqlResult {
  readonly ok: boolean;
  readonly out: string;
  readonly err: string;
}

/** psql from the dc1 management namespace to one PostgreSQL instance, verifying the server's name. */
export function psql(
  lab: LabLayout,
  at: PostgresqlPlacement,
  o: { user: string; db: string; sql: string; cert?: ClientCert; sslmode?: string; password?: string },
): PsqlResult {
  const conn = [
    `host=${at.serviceName}`,
    `hostaddr=${at.server.dataAddress}`,
    `port=${POSTGRESQL_PORT}`,
    `dbname=${o.db}`,
    `user=${o.user}`,
    `sslmode=${o.sslmode ?? "verify-full"}`,
    `sslrootcert=${join(lab.dir, "root.pem")}`,
    "connect_timeout=10",
    ...(o.cert
      ? [`sslcert=${o.cert.chain}`, `sslkey=${o.cert.key}`]
      : ["sslcert=/nonexistent", "sslkey=/nonexistent"]),
  ].join(" ");
  const r = spawnSync(
    "ip",
    ["netns", "exec", mgmtNs("dc1"), "psql", "-X", "-A", "-t", "-w", conn, "-c", o.sql],
    {
      encoding: "utf8",
      timeout: 30_000,
      // a password login attempt: given the way libpq takes one, never on the command line
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...(o.password ? { PGPASSWORD: o.password } : {}) },
    },
  );
  return { ok: r.status === 0, out: r.stdout.trim(), err: (r.stderr ?? "").trim() };
}

/** The Java program (PgJdbc.java) through pgjdbc with a PKCS#8 DER key; prints the query's first column. */
export function jdbc(
  lab: LabLayout,
  at: PostgresqlPlacement,
  cert: ClientCert,
  db: string,
  sql: string,
): PsqlResult {
  const hosts = join(lab.dir, "jdbc-hosts");
  writeFileSync(hosts, `${at.server.dataAddress} ${at.serviceName}\n`);
  const url =
    `jdbc:postgresql://${at.serviceName}:${POSTGRESQL_PORT}/${db}?user=${cert.name}&sslmode=verify-full` +
    `&sslrootcert=${join(lab.dir, "root.pem")}&sslcert=${cert.chain}&sslkey=${cert.pk8}`;
  const r = spawnSync(
    "ip",
    [
      "netns",
      "exec",
      mgmtNs("dc1"),
      "java",
      `-Djdk.net.hosts.file=${hosts}`,
      "-cp",
      "/usr/share/java/postgresql.jar",
      join(__dirname, "PgJdbc.java"),
      url,
      sql,
    ],
    { encoding: "utf8", timeout: 120_000 },
  );
  return { ok: r.status === 0, out: r.stdout.trim(), err: (r.stderr ?? "").trim() };
}
