/**
 * The lab's software releases, signed like any other by the lab's release signer: `lab-echo` (a
 * mutual-TLS echo service that holds data) and the datastores of storage servers (PostgreSQL,
 * lab/orchestrate/release-postgresql.ts). Each is a small definition in LAB_RELEASES; a datastore
 * adds one function. Their files go into the lab images under /opt/zeroroot/releases/<name>@<version>/
 * (where the agent checks them against the manifest).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPrivateKey } from "../../lib/pki";
import { signRelease } from "../../lib/release";
import { REPO_ROOT, type LabLayout } from "./layout";
import { postgresqlRelease } from "./release-postgresql";
import { galeraLabRelease } from "../releases/mariadb-galera/lab";
import { daskLabRelease } from "../releases/dask/lab";

/** One lab release: everything of its manifest but the file digests, which are made from `sources`. */
export interface LabRelease {
  readonly name: string;
  readonly version: string;
  /** The release's files, by path inside the release directory → path in this repository. */
  readonly sources: Readonly<Record<string, string>>;
  /** File modes by path (default 0644). */
  readonly modes?: Readonly<Record<string, string>>;
  readonly manifest: Readonly<Record<string, unknown>>;
}

export const LAB_RELEASE = { name: "lab-echo", version: "1.0.0", port: 7443 } as const;
export const LAB_RELEASE_REF = `${LAB_RELEASE.name}@${LAB_RELEASE.version}`;
/** The echo release's files, by path inside the release directory. */
export const labReleaseSources = (): Record<string, string> => ({
  "echo.py": join(REPO_ROOT, "lab/releases/lab-echo/echo.py"),
});

function echoRelease(): LabRelease {
  return {
    name: LAB_RELEASE.name,
    version: LAB_RELEASE.version,
    sources: labReleaseSources(),
    manifest: {
      packages: [],
      programs: [
        {
          name: "echo",
          command: `/usr/bin/python3 {{release.dir}}/echo.py {{partition.home}}/instance/tls {{ports.echo}} {{partition.home}}/instance/data.log`,
          user: "{{partition.user}}",
        },
      ],
      configTemplates: [],
      ports: [
        { name: "echo", port: LAB_RELEASE.port, protocol: "tcp", tls: true, requireClientCertificate: true },
      ],
      holdsData: true,
    },
  };
}

/**
 * Every lab release. Datastore releases read the package versions of the built storage image, so
 * call this after the images are built (lab up does).
 */
export const labReleases = (): LabRelease[] => [
  echoRelease(),
  postgresqlRelease(),
  galeraLabRelease(),
  daskLabRelease(),
];

export const releaseRef = (r: Pick<LabRelease, "name" | "version">): string => `${r.name}@${r.version}`;

export function labReleasesDir(lab: LabLayout): string {
  return join(lab.dir, "releases");
}

/** Signs every lab release once (see ensureRelease). */
export function ensureLabRelease(lab: LabLayout, signer: { cert: string; key: string }): string[] {
  return labReleases().map((r) => ensureRelease(lab, r, signer));
}

/**
 * A version, once published, must never change content (nodes refuse a reused version with other
 * bytes), so an existing signed file is kept while its files match, and a change of the files
 * without a new version is refused here with the fix.
 */
function ensureRelease(lab: LabLayout, r: LabRelease, signer: { cert: string; key: string }): string {
  const file = join(labReleasesDir(lab), `${r.name}-${r.version}.signed.json`);
  const { files } = releaseManifest(r, "");
  if (existsSync(file)) {
    const signed = JSON.parse(readFileSync(file, "utf8")) as {
      manifest: { files: { path: string; sha256: string }[] };
    };
    const same =
      JSON.stringify(signed.manifest.files.map((f) => [f.path, f.sha256])) ===
      JSON.stringify(files.map((f) => [f.path, f.sha256]));
    if (same) return file;
    throw new Error(
      `the files of ${releaseRef(r)} changed since it was signed: give it a new version (lab/orchestrate/releases.ts or release-${r.name}.ts), or \`lab down --purge\``,
    );
  }
  const manifest = releaseManifest(
    r,
    new Date(Date.now() + 365 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
  );
  const chain = readFileSync(signer.cert, "utf8");
  const leaf = chain.slice(0, chain.indexOf("-----END CERTIFICATE-----") + 26);
  const signed = signRelease(manifest, {
    privateKey: loadPrivateKey(readFileSync(signer.key)),
    certificatePem: leaf,
    chainPem: chain.slice(leaf.length),
  });
  mkdirSync(labReleasesDir(lab), { recursive: true, mode: 0o755 });
  writeFileSync(file, JSON.stringify(signed, null, 2) + "\n");
  return file;
}

/** The manifest of a lab release: its definition with the digests of its files as they are now. */
export function releaseManifest(r: LabRelease, notAfter: string) {
  const files = Object.entries(r.sources).map(([path, source]) => {
    const bytes = readFileSync(source);
    return {
      path,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      size: bytes.length,
      mode: r.modes?.[path] ?? "0644",
    };
  });
  return { kind: "zeroroot.release/v1", name: r.name, version: r.version, files, ...r.manifest, notAfter };
}
