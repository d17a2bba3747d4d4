/**
 * Compliant datastore baselines: a PostgreSQL and a MariaDB release manifest (what the pack sees on a
 * SoftwareRelease) whose templates every datastore rule accepts. Each test changes one template.
 */
import { datastoresViewOfRelease, runRule, type Finding, type Rule } from "../../../lib/rules";
import { clone, record } from "./fixtures";

export const PG_HBA = [
  "# TYPE  DATABASE  USER  ADDRESS  METHOD",
  "local   all       all             peer",
  "hostssl all       all   0.0.0.0/0 cert clientcert=verify-full map=certmap",
  "hostssl replication replicator ::/0 cert map=certmap",
  "",
].join("\n");

export const MY_CNF = [
  "[mariadbd]",
  "plugin_load_add = file_key_management",
  "file_key_management_filename = {{partition.home}}/keys/innodb.key",
  "innodb_encrypt_tables = ON",
  "innodb_encrypt_log = ON",
  "require_secure_transport = ON",
  "",
].join("\n");

export const INIT_SQL = [
  "-- users map from certificates; no password anywhere",
  "CREATE USER IF NOT EXISTS 'zr-p001'@'localhost' IDENTIFIED VIA unix_socket;",
  "CREATE USER 'alice'@'%' REQUIRE SUBJECT '/CN=alice' AND ISSUER '/CN=zeroroot example dc1 issuing CA';",
  "GRANT SELECT, INSERT ON analytics.* TO 'alice'@'%';",
  "",
].join("\n");

const port = (p: number) => ({
  name: "sql",
  port: p,
  protocol: "tcp",
  tls: true,
  requireClientCertificate: true,
});

export const pgManifest = {
  kind: "zeroroot.release/v1",
  name: "postgresql",
  version: "15.8.0",
  packages: [{ name: "postgresql-15", version: "15.8-0+deb12u1" }],
  configTemplates: [
    { path: "etc/postgresql.conf", template: "ssl = on\n" },
    { path: "etc/pg_hba.conf", template: PG_HBA },
  ],
  ports: [port(5432)],
  holdsData: true,
};

export const mariadbManifest = {
  kind: "zeroroot.release/v1",
  name: "mariadb-galera",
  version: "10.11.6",
  packages: [{ name: "mariadb-server", version: "1:10.11.6-0+deb12u1" }],
  configTemplates: [
    { path: "etc/my.cnf", template: MY_CNF },
    { path: "etc/init.sql", template: INIT_SQL },
  ],
  ports: [port(3306)],
  holdsData: true,
};

/** Runs `rule` over a release whose manifest is `manifest` with `change` applied. */
export function runOnRelease<C>(
  rule: Rule<ReturnType<typeof datastoresViewOfRelease>, C>,
  manifest: object,
  change: (m: ReturnType<typeof clone>) => void = () => undefined,
): Finding[] {
  const m = clone(manifest);
  change(m);
  return runRule(
    rule,
    datastoresViewOfRelease(record("SoftwareRelease", m.name, { name: m.name, manifest: m })),
  );
}

/** Replaces the template at `path` in a cloned manifest. */
export const withTemplate = (path: string, text: string) => (m: ReturnType<typeof clone>) => {
  m.configTemplates.find((t: { path: string }) => t.path === path).template = text;
};
