/**
 * The datastore engines zeroroot knows, and how a release is recognised as one. Dependency-free so
 * that the rule book (lib/rules, bundled into the policy pack) can import it.
 */
export const DATASTORE_ENGINES = ["postgresql", "mariadb"] as const;
export type DatastoreEngine = (typeof DATASTORE_ENGINES)[number];

/**
 * The engine a release runs, from its name: `postgresql*` is PostgreSQL, `mariadb*` and `galera*`
 * are MariaDB (Galera is MariaDB's replication); undefined for anything else.
 */
export function datastoreEngineOf(releaseName: string): DatastoreEngine | undefined {
  if (/^postgresql(?:$|[-_.])/.test(releaseName)) return "postgresql";
  if (/^(?:mariadb|galera)(?:$|[-_.])/.test(releaseName)) return "mariadb";
  return undefined;
}

/** The engine a release installs, from its Debian packages (a release named otherwise still counts). */
export function datastoreEngineOfPackages(packages: readonly string[]): DatastoreEngine | undefined {
  if (packages.some((p) => /^postgresql-\d+$/.test(p))) return "postgresql";
  if (packages.some((p) => /^(?:mariadb-server(?:-core)?(?:-[\d.]+)?|galera-\d+)$/.test(p))) return "mariadb";
  return undefined;
}
