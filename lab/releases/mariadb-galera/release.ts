/**
 * The `mariadb-galera` release: MariaDB 10.11 with Galera 4 from Debian, one member per data center,
 * run by the node agent under a partition user. Its own files are two Python programs (the start
 * script and the grants keeper) and their shared configuration reader, with the hierarchy's CRL
 * keeper and the job-line reader they import (agents/), hashed into the manifest; the
 * daemons are Debian packages at exact versions (the agent checks dpkg's status against them).
 * docs/datastores.md, "Galera", says why each setting is what it is.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ReleaseManifest } from "../../../lib/release";
import { DATASTORE_LOG_PROGRAM } from "../../../lib/agent/datastore-refusals";
import { CRL_SOURCES_MODULE, JOB_ACCESS_MODULE } from "../../orchestrate/stack-datastores";

/** Bump when a file or template of lab/releases/mariadb-galera changes: a signed version never changes content. */
export const GALERA_RELEASE_REVISION = 12;
export const GALERA_RELEASE_NAME = "mariadb-galera";
/** The ports the release declares; the storage role image opens them (lib/hardening/roles.ts). */
export const GALERA_PORTS = { sql: 3306, galera: 4567, ist: 4568, sst: 4444 } as const;
/** Debian bookworm's packages the release runs (their versions are the storage image's). */
export const GALERA_PACKAGES = [
  "mariadb-server",
  "mariadb-client-core",
  "galera-4",
  "rsync",
  "stunnel4",
] as const;

/** `1:10.11.19-0+deb12u1` → `10.11.<revision>`: MariaDB's major.minor, then the release's revision. */
export function galeraReleaseVersion(mariadbDebianVersion: string): string {
  const m = /^(?:\d+:)?(\d+)\.(\d+)/.exec(mariadbDebianVersion);
  if (!m) throw new Error(`unexpected mariadb-server version ${JSON.stringify(mariadbDebianVersion)}`);
  return `${Number(m[1])}.${Number(m[2])}.${GALERA_RELEASE_REVISION}`;
}

const HERE = __dirname;
/** The release's files, by path inside the release directory. */
export const galeraReleaseSources = (): Record<string, string> => ({
  "galera-start.py": join(HERE, "galera-start.py"),
  "galera_datadir.py": join(HERE, "galera_datadir.py"),
  "galera-access.py": join(HERE, "galera-access.py"),
  "galera_conf.py": join(HERE, "galera_conf.py"),
  "galera_recovery.py": join(HERE, "galera_recovery.py"),
  "galera_peers.py": join(HERE, "galera_peers.py"),
  "galera_guard.py": join(HERE, "galera_guard.py"),
  ...CRL_SOURCES_MODULE,
  ...JOB_ACCESS_MODULE,
});

/** Program names: what `lab status` and the tests look for in the partition's supervisord. */
export const GALERA_PROGRAMS = { server: DATASTORE_LOG_PROGRAM.mariadb, access: "access" } as const;

/**
 * The manifest, with file digests of the current sources, the package versions `versionOf` gives
 * (the storage image's in the lab, dpkg's on the host for the harness) and the given expiry.
 */
export function galeraManifest(notAfter: string, versionOf: (pkg: string) => string): ReleaseManifest {
  const files = Object.entries(galeraReleaseSources()).map(([path, source]) => {
    const bytes = readFileSync(source);
    return {
      path,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      size: bytes.length,
      mode: "0644",
    };
  });
  const template = (f: string) => readFileSync(join(HERE, f), "utf8");
  return {
    kind: "zeroroot.release/v1",
    name: GALERA_RELEASE_NAME,
    version: galeraReleaseVersion(versionOf("mariadb-server")),
    files,
    packages: GALERA_PACKAGES.map((name) => ({ name, version: versionOf(name) })),
    programs: [
      {
        name: GALERA_PROGRAMS.server,
        command: "/usr/bin/python3 {{release.dir}}/galera-start.py {{partition.home}}/instance",
        user: "{{partition.user}}",
      },
      {
        name: GALERA_PROGRAMS.access,
        command: "/usr/bin/python3 {{release.dir}}/galera-access.py {{partition.home}}/instance",
        user: "{{partition.user}}",
      },
    ],
    configTemplates: [
      { path: "etc/my.cnf", template: template("my.cnf.template"), mode: "0640" },
      { path: "etc/galera.conf", template: template("galera.conf.template"), mode: "0640" },
      { path: "etc/access.txt", template: template("access.txt.template"), mode: "0640" },
      // where job certificates open a grant (lib/compute/job-access.ts), one worker node a line
      { path: "etc/job-access.txt", template: "{{parameters.jobAccess}}\n", mode: "0640" },
      // every data center's site, one `site.<dc>.<domain>@<ipv4>:<port>` a line (crlSourcesOf)
      { path: "etc/crl-sources.txt", template: "{{parameters.crlSources}}\n", mode: "0640" },
    ],
    ports: (Object.entries(GALERA_PORTS) as [string, number][]).map(([name, port]) => ({
      name,
      port,
      protocol: "tcp" as const,
      tls: true,
      requireClientCertificate: true,
    })),
    holdsData: true,
    notAfter,
  };
}
