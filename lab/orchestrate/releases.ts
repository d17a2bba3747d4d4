/**
 * The lab's software release, signed like any other: `lab-echo`, a mutual-TLS echo service that
 * holds data, signed by the lab's release signer. Its files go into the lab image under
 * /opt/zeroroot/releases/<name>@<version>/ (where the agent checks them against the manifest).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPrivateKey } from "../../lib/pki";
import { signRelease } from "../../lib/release";
import { REPO_ROOT, type LabLayout } from "./layout";

export const LAB_RELEASE = { name: "lab-echo", version: "1.0.0", port: 7443 } as const;
export const LAB_RELEASE_REF = `${LAB_RELEASE.name}@${LAB_RELEASE.version}`;
/** The release's files, by path inside the release directory. */
export const labReleaseSources = (): Record<string, string> => ({
  "echo.py": join(REPO_ROOT, "lab/releases/lab-echo/echo.py"),
});

export function labReleasesDir(lab: LabLayout): string {
  return join(lab.dir, "releases");
}

/**
 * Signs the lab release once. A version, once published, must never change content (nodes refuse a
 * reused version with other bytes), so an existing signed file is kept while its files match, and a
 * change of the files without a new version is refused here with the fix.
 */
export function ensureLabRelease(lab: LabLayout, signer: { cert: string; key: string }): string {
  const file = join(labReleasesDir(lab), `${LAB_RELEASE.name}-${LAB_RELEASE.version}.signed.json`);
  const files = Object.entries(labReleaseSources()).map(([path, source]) => {
    const bytes = readFileSync(source);
    return {
      path,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      size: bytes.length,
      mode: "0644",
    };
  });
  if (existsSync(file)) {
    const signed = JSON.parse(readFileSync(file, "utf8")) as {
      manifest: { files: { path: string; sha256: string }[] };
    };
    const same =
      JSON.stringify(signed.manifest.files.map((f) => [f.path, f.sha256])) ===
      JSON.stringify(files.map((f) => [f.path, f.sha256]));
    if (same) return file;
    throw new Error(
      `the files of ${LAB_RELEASE_REF} changed since it was signed: give it a new version (LAB_RELEASE in lab/orchestrate/releases.ts)`,
    );
  }
  const manifest = {
    kind: "zeroroot.release/v1",
    name: LAB_RELEASE.name,
    version: LAB_RELEASE.version,
    files,
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
    notAfter: new Date(Date.now() + 365 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
  };
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
