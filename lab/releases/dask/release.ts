/**
 * The `dask` release: Dask 2022.12 from Debian (the compute image's python3-distributed, at the exact
 * version the image carries), one program per instance — a scheduler or a worker of a user's cluster,
 * by the instance's `role` parameter (lib/compute/cluster-services.ts). Its own files: the start
 * program (arguments checked, TLS files laid out, `dask scheduler|worker` exec'd with tls:// and
 * require-encryption) and the owner-only guard it preloads. docs/compute.md says why.
 */
import { join } from "node:path";
import { COMPUTE_PORTS } from "../../../lib/hardening/roles";

/** Bump when a file of lab/releases/dask changes: a signed version never changes content. */
export const DASK_RELEASE_REVISION = 2;
export const DASK_RELEASE_NAME = "dask";
/** The Debian packages the release runs (their versions are the compute image's). */
export const DASK_PACKAGES = ["python3-distributed", "python3-numpy", "python3-pandas"] as const;
/** The one program of every instance: what `lab status` and the tests look for. */
export const DASK_PROGRAM = "dask";

const HERE = __dirname;
/** The release's files, by path inside the release directory. */
export const daskReleaseSources = (): Record<string, string> => ({
  "dask-start.py": join(HERE, "dask-start.py"),
  "owner_guard.py": join(HERE, "owner_guard.py"),
  "zr_job.py": join(HERE, "zr_job.py"),
});

/** `2022.12.1+ds.1-3` → `2022.12.<revision>`: Dask's year.month, then the release's revision. */
export function daskReleaseVersion(debianVersion: string): string {
  const m = /^(?:\d+:)?(\d{4})\.(\d+)/.exec(debianVersion);
  if (!m) throw new Error(`unexpected python3-distributed version ${JSON.stringify(debianVersion)}`);
  return `${Number(m[1])}.${Number(m[2])}.${DASK_RELEASE_REVISION}`;
}

/** The start program's arguments, in its order (dask-start.py). */
const COMMAND = [
  "/usr/bin/python3 {{release.dir}}/dask-start.py {{parameters.role}} {{partition.home}}/instance",
  "{{parameters.owner}} {{parameters.cluster}} {{parameters.dataCenters}} {{parameters.domain}}",
  "{{parameters.listenAddress}} {{parameters.port}} {{parameters.schedulerAddress}} {{parameters.schedulerPort}}",
].join(" ");

/** Everything of the manifest but files, kind and expiry (lab/orchestrate/releases.ts adds them). */
export function daskManifestBody(versionOf: (pkg: string) => string) {
  return {
    packages: DASK_PACKAGES.map((name) => ({ name, version: versionOf(name) })),
    programs: [
      {
        name: DASK_PROGRAM,
        command: COMMAND,
        user: "{{partition.user}}",
      },
    ],
    configTemplates: [],
    // Nominal: each instance's own port is in its endpoints (the cluster's config); declaring a TLS
    // port makes the agent obtain the instance's service certificate.
    ports: [
      {
        name: "dask",
        port: COMPUTE_PORTS.first,
        protocol: "tcp" as const,
        tls: true,
        requireClientCertificate: true,
      },
    ],
    holdsData: false,
  };
}
