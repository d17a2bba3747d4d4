/**
 * Role images: a server's role (lib/fleet SERVER_ROLES) picks what its hardened image carries on top
 * of the base, so a compute server carries no database and a storage server no Dask. One entry per
 * role, the one list the image build, the firewall and the tests read. Debian's archive signatures
 * are the packages' provenance; the image digest the installer checks covers the rest.
 */
import { SERVER_ROLES, type ServerRole } from "../contracts/resources";

export { SERVER_ROLES, type ServerRole };

export interface RoleImage {
  /** Debian packages added to the base list (with their dependencies). */
  readonly packages: readonly string[];
  /** TCP ports the role's services listen on, open in the default-deny firewall. */
  readonly tcpPorts: readonly number[];
  /** UDP ports likewise. */
  readonly udpPorts: readonly number[];
  /**
   * What Debian's maintainer scripts lay down that the platform never uses and must not ship: a
   * default cluster or database (made at build time, identical on every server) and the snakeoil
   * key of `ssl-cert` (one private key shared by every server of the image). Instances make their
   * own data directories and get their keys by CSR.
   */
  readonly removedPaths: readonly string[];
  /** Packages a dependency could bring that the image must not have (checked like the base's). */
  readonly unwantedPackages?: readonly string[];
  /** Empty packages installed in place of a dependency the image must not have (below). */
  readonly standIns?: readonly StandInPackage[];
}

/**
 * An empty package, made by the image build (lab/image/build.ts), that provides a dependency a
 * Debian package declares but does not need to run, when the real one would bring what the image
 * refuses. Its name says what it stands for; the real package stays in `unwantedPackages`, so the
 * check fails if apt ever picks it after all.
 */
export interface StandInPackage {
  /** Package name, `zeroroot-no-<what it stands for>`. */
  readonly name: string;
  /** The package names it satisfies (unversioned Provides). */
  readonly provides: readonly string[];
  /** Why nothing of the real package is needed at run time (the package's description). */
  readonly why: string;
}

/** PostgreSQL's port (releases/manifests/postgresql-*.json, docs/datastores.md). */
export const POSTGRESQL_PORT = 5432;

/**
 * The TCP ports Dask schedulers and workers of users' clusters may listen on (docs/compute.md): 64
 * ports from Dask's usual scheduler port, open in the compute image's default-deny firewall, so that
 * a cluster's ports need no image change and nothing else on a compute server is reachable.
 */
export const COMPUTE_PORTS = { first: 8786, last: 8849 } as const;

export const ROLE_IMAGES: Readonly<Record<ServerRole, RoleImage>> = {
  storage: {
    // perl: postgresql-common's cluster tools and mariadb-server's scripts are Perl (the base keeps
    // it out; here it is asked for explicitly). mariadb-backup, rsync, stunnel4, socat: Galera's
    // state transfers (docs/datastores.md).
    packages: [
      "galera-4",
      "mariadb-backup",
      "mariadb-server",
      "perl",
      "postgresql-15",
      "rsync",
      "socat",
      "stunnel4",
      // stunnel4 needs a sysusers implementation: without this apt picks all of systemd
      "systemd-standalone-sysusers",
    ],
    // an init system that is not PID 1 is only one more set of root tools
    unwantedPackages: ["systemd"],
    // 3306 MariaDB, 4444 SST, 4567 Galera replication, 4568 IST
    tcpPorts: [POSTGRESQL_PORT, 3306, 4444, 4567, 4568],
    udpPorts: [],
    removedPaths: [
      "/etc/postgresql/15/main",
      "/var/lib/postgresql/15/main",
      "/var/lib/mysql",
      "/etc/ssl/private/ssl-cert-snakeoil.key",
      "/etc/ssl/certs/ssl-cert-snakeoil.pem",
      // left (empty) by a maintainer script of the datastore packages; no SSH configuration may exist
      "/root/.ssh",
    ],
  },
  // Dask from Debian for users' clusters (docs/compute.md): numpy, pandas and scikit-learn for the
  // analytics, psycopg2 and pymysql for jobs that read and write the datastores.
  compute: {
    packages: [
      "python3-distributed",
      "python3-numpy",
      "python3-pandas",
      "python3-psycopg2",
      "python3-pymysql",
      "python3-sklearn",
    ],
    unwantedPackages: ["systemd", "python3-pythran"],
    // bookworm's python3-scipy (under scikit-learn) depends on python3-pythran, a compiler of Python
    // to C++ that depends on g++ (forbidden.ts); scipy ships its pythran-made modules compiled
    standIns: [
      {
        name: "zeroroot-no-pythran",
        provides: ["python3-pythran"],
        why: "scipy's pythran modules are shipped compiled; pythran and the C++ compiler it needs are build tools",
      },
    ],
    // schedulers and workers of users' clusters listen only here (lib/fleet/clusters.ts checks it)
    tcpPorts: Array.from(
      { length: COMPUTE_PORTS.last - COMPUTE_PORTS.first + 1 },
      (_, i) => COMPUTE_PORTS.first + i,
    ),
    udpPorts: [],
    removedPaths: [],
  },
  backup: { packages: ["rsync"], tcpPorts: [], udpPorts: [], removedPaths: [] },
};

/** Whether `value` names a role (for validation messages elsewhere). */
export const isServerRole = (value: unknown): value is ServerRole =>
  typeof value === "string" && (SERVER_ROLES as readonly string[]).includes(value);
