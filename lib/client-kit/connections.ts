/**
 * Connection strings for the data sets of a kit, one form per client: libpq conninfo (psql,
 * psycopg2), pgjdbc and MariaDB Connector/J URLs, mariadb command lines and pymysql arguments. Every
 * form verifies the server's certificate against the platform root and its host name
 * (sslmode=verify-full and equivalents) and presents the user's certificate; none carries a password.
 * The database user is the identity's name: the datastores map a verified certificate to it.
 */
import type { DataSetEndpoint } from "./datastores";

/** One data set across the data centers that serve it (a Galera cluster, a primary and its replicas). */
export interface DataSetGroup {
  readonly engine: DataSetEndpoint["engine"];
  readonly service: string;
  readonly database: string;
  readonly access: DataSetEndpoint["access"];
  /** host:port pairs, the user's own data center first. */
  readonly members: readonly { readonly host: string; readonly port: number; readonly dataCenter: string }[];
}

/** Groups the per-data-center grants of one service and database into one multi-host data set. */
export function groupDataSets(sets: readonly DataSetEndpoint[], homeDc: string): DataSetGroup[] {
  const groups = new Map<string, DataSetGroup & { members: DataSetGroup["members"][number][] }>();
  for (const s of sets) {
    const key = [s.engine, s.service, s.database, s.access].join("\u0000");
    const g = groups.get(key) ?? { ...pick(s), members: [] };
    groups.set(key, g);
    for (const host of s.hosts) g.members.push({ host, port: s.port, dataCenter: s.dataCenter });
  }
  const rank = (dc: string) => (dc === homeDc ? 0 : 1);
  return [...groups.values()].map((g) => ({
    ...g,
    members: [...g.members].sort((a, b) => rank(a.dataCenter) - rank(b.dataCenter)),
  }));
}
const pick = (s: DataSetEndpoint) => ({
  engine: s.engine,
  service: s.service,
  database: s.database,
  access: s.access,
});

/** Absolute paths of the kit's files that connection strings point at. */
export interface KitFilePaths {
  readonly root: string;
  readonly cert: string;
  readonly keyPem: string;
  readonly keyDer?: string;
  readonly keystore?: string;
  readonly truststore?: string;
  readonly mariadbOptions?: string;
}

/** A libpq conninfo value, quoted when it needs it (libpq's rules: '…' with \\ and \' escaped). */
const pq = (v: string) => (/^[A-Za-z0-9_.,/:@+-]+$/.test(v) ? v : `'${v.replace(/[\\']/g, "\\$&")}'`);
/** A POSIX shell word. */
export const sh = (v: string) => (/^[A-Za-z0-9_.,/:@=+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

/** libpq conninfo for psql and psycopg2; the primary for readwrite, a standby preferred for read. */
export function libpqConninfo(g: DataSetGroup, user: string, f: KitFilePaths): string {
  return [
    `host=${pq(g.members.map((m) => m.host).join(","))}`,
    `port=${g.members.map((m) => m.port).join(",")}`,
    `dbname=${pq(g.database)}`,
    `user=${pq(user)}`,
    "sslmode=verify-full",
    `sslrootcert=${pq(f.root)}`,
    `sslcert=${pq(f.cert)}`,
    `sslkey=${pq(f.keyPem)}`,
    `target_session_attrs=${g.access === "readwrite" ? "read-write" : "prefer-standby"}`,
  ].join(" ");
}

const q = encodeURIComponent;

/** pgjdbc URL: the DER PKCS#8 key pgjdbc requires (a PEM key fails), no password anywhere. */
export function pgjdbcUrl(g: DataSetGroup, user: string, f: KitFilePaths): string {
  const hosts = g.members.map((m) => `${m.host}:${m.port}`).join(",");
  const params = [
    `user=${q(user)}`,
    "sslmode=verify-full",
    `sslrootcert=${q(f.root)}`,
    `sslcert=${q(f.cert)}`,
    `sslkey=${q(f.keyDer ?? "")}`,
    `targetServerType=${g.access === "readwrite" ? "primary" : "preferSecondary"}`,
  ];
  return `jdbc:postgresql://${hosts}/${q(g.database)}?${params.join("&")}`;
}

/**
 * MariaDB Connector/J (3.x) URL with the PKCS#12 keystore and truststore; the passwords are not in
 * it: the program reads them (a prompt) and passes keyStorePassword/trustStorePassword as Properties.
 */
export function connectorJUrl(g: DataSetGroup, user: string, f: KitFilePaths): string {
  const hosts = g.members.map((m) => `${m.host}:${m.port}`).join(",");
  const params = [
    `user=${q(user)}`,
    "sslMode=verify-full",
    `keyStore=${q(`file:${f.keystore ?? ""}`)}`,
    "keyStoreType=PKCS12",
    `trustStore=${q(`file:${f.truststore ?? ""}`)}`,
    "trustStoreType=PKCS12",
  ];
  return `jdbc:mariadb:sequential://${hosts}/${q(g.database)}?${params.join("&")}`;
}

/** The mariadb command line: TLS settings from the kit's option file, the first reachable member. */
export function mariadbCommand(g: DataSetGroup, f: KitFilePaths): string {
  const m = g.members[0];
  return `mariadb --defaults-extra-file=${sh(f.mariadbOptions ?? "")} --host=${sh(m.host)} --port=${m.port} ${sh(g.database)}`;
}

/** The option file the mariadb client reads: user and certificates, server verification on. */
export function mariadbOptionFile(user: string, f: KitFilePaths): string {
  const v = (s: string) => (/^[^\s"'#\\]+$/.test(s) ? s : `"${s.replace(/["\\]/g, "\\$&")}"`);
  return [
    "# zeroroot client kit: no password; the server maps this certificate to the user",
    "[client]",
    `user=${v(user)}`,
    `ssl-ca=${v(f.root)}`,
    `ssl-cert=${v(f.cert)}`,
    `ssl-key=${v(f.keyPem)}`,
    "ssl-verify-server-cert",
    "",
  ].join("\n");
}

/** pymysql.connect keyword arguments: server certificate and host name verified against the root. */
export function pymysqlArgs(g: DataSetGroup, user: string, f: KitFilePaths): Record<string, unknown> {
  const m = g.members[0];
  return {
    host: m.host,
    port: m.port,
    user,
    database: g.database,
    // Flat ssl_* arguments, not an `ssl` dict: pymysql 1.0 replaces a given dict by one built from
    // ssl_ca & co. as soon as ssl_verify_cert is set, which would drop the CA (test/integration/client-kit).
    ssl_ca: f.root,
    ssl_cert: f.cert,
    ssl_key: f.keyPem,
    ssl_verify_cert: true,
    ssl_verify_identity: true,
  };
}
