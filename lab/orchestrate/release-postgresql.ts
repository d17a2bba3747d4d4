/**
 * The PostgreSQL release as the lab signs it (docs/datastores.md): PostgreSQL 15 from Debian at the
 * exact version the storage image carries, a start program that initialises the data directory
 * (initdb on a primary, pg_basebackup from the primary on a replica) and execs postgres, and an
 * access program that keeps CRLs, the certificate-to-role map and the grants in line with the
 * instance's parameters. Everything the instance needs comes from its parameters (see
 * `postgresqlParameters`), which the stack config gives: `zeroroot:services[].parameters` for the
 * mode and replication, `zeroroot:dataAccess` for the grants, with `zeroroot:clusters` for the job lines.
 */
import { join } from "node:path";
import { POSTGRESQL_PORT } from "../../lib/hardening";
import { DATASTORE_LOG_PROGRAM } from "../../lib/agent/datastore-refusals";
import { labPackageVersion } from "./image-spec";
import { REPO_ROOT } from "./layout";
import type { LabRelease } from "./releases";
import { CRL_SOURCES_MODULE, JOB_ACCESS_MODULE } from "./stack-datastores";

/** Bump when a file of lab/releases/postgresql changes: a signed version never changes content. */
export const POSTGRESQL_RELEASE_REVISION = 8;
export const POSTGRESQL_PACKAGE = "postgresql-15";
export const POSTGRESQL_SERVICE = "postgresql";

const dir = join(REPO_ROOT, "lab/releases/postgresql");

/** `15.20-0+deb12u1` → `15.20.<revision>`: the Debian version's major.minor, then the release's revision. */
export function postgresqlReleaseVersion(debianVersion: string): string {
  const m = /^(\d+)\.(\d+)/.exec(debianVersion);
  if (!m) throw new Error(`unexpected ${POSTGRESQL_PACKAGE} version ${JSON.stringify(debianVersion)}`);
  return `${Number(m[1])}.${Number(m[2])}.${POSTGRESQL_RELEASE_REVISION}`;
}

/**
 * The release, pinned to the package version `versionOf` gives: the built storage image's in the lab,
 * a fixed Debian version for the example releases (scripts/example-releases.ts).
 */
export function postgresqlRelease(
  versionOf: (pkg: string) => string = (pkg) => labPackageVersion("storage", pkg),
): LabRelease {
  const packageVersion = versionOf(POSTGRESQL_PACKAGE);
  const program = (name: string, script: string) => ({
    name,
    command: `/usr/bin/python3 {{release.dir}}/${script} {{parameters.mode}} {{ports.sql}}`,
    user: "{{partition.user}}",
  });
  const template = (file: string, parameter: string) => ({
    path: `etc/${file}.txt`,
    template: `{{parameters.${parameter}}}\n`,
    mode: "0640",
  });
  return {
    name: "postgresql",
    version: postgresqlReleaseVersion(packageVersion),
    sources: {
      "pg_common.py": join(dir, "pg_common.py"),
      "pg-start.py": join(dir, "pg-start.py"),
      "pg-access.py": join(dir, "pg-access.py"),
      "pg_lock.py": join(dir, "pg_lock.py"),
      ...CRL_SOURCES_MODULE,
      ...JOB_ACCESS_MODULE,
    },
    manifest: {
      packages: [{ name: POSTGRESQL_PACKAGE, version: packageVersion }],
      programs: [
        program(DATASTORE_LOG_PROGRAM.postgresql, "pg-start.py"),
        program("pg-access", "pg-access.py"),
      ],
      configTemplates: [
        template("access", "access"),
        template("replication", "replication"),
        template("crl-sources", "crlSources"),
        // where job certificates are accepted (lib/compute/job-access.ts), one entry a line
        template("job-access", "jobAccess"),
      ],
      ports: [
        { name: "sql", port: POSTGRESQL_PORT, protocol: "tcp", tls: true, requireClientCertificate: true },
      ],
      holdsData: true,
    },
  };
}
