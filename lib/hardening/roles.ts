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
}

/** PostgreSQL's port (releases/manifests/postgresql-*.json, docs/datastores.md). */
export const POSTGRESQL_PORT = 5432;

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
  // Dask (python3-distributed, python3-sklearn) comes with issue #12, with its release: adding it
  // now would only grow the lab's build (docs/hardening.md, "Role images").
  compute: { packages: [], tcpPorts: [], udpPorts: [], removedPaths: [] },
  backup: { packages: ["rsync"], tcpPorts: [], udpPorts: [], removedPaths: [] },
};

/** Whether `value` names a role (for validation messages elsewhere). */
export const isServerRole = (value: unknown): value is ServerRole =>
  typeof value === "string" && (SERVER_ROLES as readonly string[]).includes(value);
