/**
 * Regenerates the example signed releases (releases/<name>-<version>.signed.json) with a throw-away
 * example hierarchy: the hand-written manifests of releases/manifests/*.json (none today), and the
 * releases made from the lab's own definitions (PostgreSQL: lab/orchestrate/release-postgresql.ts,
 * MariaDB/Galera: lab/releases/mariadb-galera/release.ts, Dask: lab/releases/dask/release.ts) at
 * fixed Debian package versions. Then it points the example stacks at them: the root certificate in
 * stacks/Pulumi.global.yaml (rootCa: offline), the software signer's fingerprint in
 * policies/policy-config.json, and the datastores and the user's Dask cluster of
 * stacks/Pulumi.dc*.yaml (example-stacks.ts: the lab's layout, the example CAs as user issuers).
 *
 *   npx tsx scripts/example-releases.ts [--keys-dir DIR]
 *
 * Every private key (root, issuing CA, release signer, and a desired-state signer and operator
 * identity for a lab deploy) is written only under DIR (default: a new temp directory, printed), never
 * into the repository. The example root key is thrown away with DIR: nothing in the repository can
 * sign for the example root.
 */
import { createPrivateKey } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { X509Certificate } from "node:crypto";
import { mariadbDn } from "../lib/datastores/mariadb-galera";
import * as pki from "../lib/pki";
import { certificateFingerprint, signRelease, type ReleaseManifest } from "../lib/release";
import { postgresqlRelease } from "../lab/orchestrate/release-postgresql";
import { releaseManifest } from "../lab/orchestrate/releases";
import { galeraManifest } from "../lab/releases/mariadb-galera/release";
import {
  DASK_RELEASE_NAME,
  daskManifestBody,
  daskReleaseSources,
  daskReleaseVersion,
} from "../lab/releases/dask/release";
import { writeExampleClusters, writeExampleDatastores } from "./example-stacks";

const ROOT = resolve(__dirname, "..");
const DATA_CENTERS = ["dc1", "dc2", "dc3"] as const;

/**
 * Debian bookworm versions the example releases pin (what the storage and compute images carried
 * when they were signed; a node refuses a release whose packages differ from what it has installed).
 */
export const EXAMPLE_PACKAGE_VERSIONS: Readonly<Record<string, string>> = {
  "postgresql-15": "15.20-0+deb12u1",
  "mariadb-server": "1:10.11.19-0+deb12u1",
  "mariadb-client-core": "1:10.11.19-0+deb12u1",
  "galera-4": "26.4.23-0+deb12u1",
  rsync: "3.5.0+ds1-0+deb12u1",
  stunnel4: "3:5.68-2+deb12u1",
  "python3-distributed": "2022.12.1+ds.1-3",
  "python3-numpy": "1:1.24.2-1+deb12u1",
  "python3-pandas": "1.5.3+dfsg-2",
};

function exampleVersionOf(pkg: string): string {
  const v = EXAMPLE_PACKAGE_VERSIONS[pkg];
  if (!v) throw new Error(`no example version for package ${pkg}: add it to EXAMPLE_PACKAGE_VERSIONS`);
  return v;
}

/** The releases made from the lab's definitions: the same files, programs, templates and ports. */
function labDefinedManifests(notAfter: string): ReleaseManifest[] {
  const dask = {
    name: DASK_RELEASE_NAME,
    version: daskReleaseVersion(exampleVersionOf("python3-distributed")),
    sources: daskReleaseSources(),
    manifest: daskManifestBody(exampleVersionOf),
  };
  return [
    releaseManifest(postgresqlRelease(exampleVersionOf), notAfter) as unknown as ReleaseManifest,
    galeraManifest(notAfter, exampleVersionOf),
    releaseManifest(dask, notAfter) as unknown as ReleaseManifest,
  ];
}

interface Leaf {
  readonly certificatePem: string;
  readonly keyPem: string;
}

function leaf(ca: pki.CertificateAuthority, profile: pki.ProfileName, cn: string): Leaf {
  const keys = pki.generateKeyPair("ec-p256");
  const csr = pki.createCsr({ commonName: cn }, keys.privateKey);
  const issued = pki.issueFromCsr(ca, profile, csr, { commonName: cn });
  return { certificatePem: issued.certificatePem, keyPem: pki.exportPkcs8(keys.privateKey).toString() };
}

export interface ExampleResult {
  readonly rootCertificatePem: string;
  readonly signerFingerprint: string;
  readonly releaseFiles: string[];
  /** `name@version` of every release signed. */
  readonly releaseRefs: string[];
  /** Per data center, its issuing CA's DN in MariaDB's form (the issuer of its user certificates). */
  readonly userIssuers: Record<string, string>;
  readonly keysDir: string;
}

/** Makes the hierarchy, signs every manifest into `releasesDir`, writes keys under `keysDir`. */
export function makeExampleReleases(releasesDir: string, keysDir: string): ExampleResult {
  const root = pki.createRootCa({ commonName: "zeroroot example root CA (offline)" });
  const issuingCa = (dc: string) => {
    const keys = pki.generateKeyPair("ec-p256");
    const cert = pki.issueFromCsr(
      root.ca,
      "issuing",
      pki.createCsr({ commonName: `zeroroot example ${dc} issuing CA` }, keys.privateKey),
      { nameScope: { dnsZones: [`${dc}.zeroroot.example`] } },
    );
    return pki.loadCa(cert.certificatePem, pki.exportPkcs8(keys.privateKey));
  };
  const cas = Object.fromEntries(DATA_CENTERS.map((dc) => [dc, issuingCa(dc)]));
  const issuing = cas.dc1;
  const signer = leaf(issuing, "software", "example-release-signer");
  const stateSigner = leaf(issuing, "software", "control-plane-dc1");
  const operator = leaf(issuing, "user", "operator");

  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  const chain = (l: Leaf) => l.certificatePem + issuing.certificatePem;
  const write = (name: string, text: string, mode = 0o644) =>
    writeFileSync(join(keysDir, name), text, { mode });
  write("root.crt", root.certificatePem);
  write("release-signer.crt", chain(signer));
  write("release-signer.key", signer.keyPem, 0o600);
  write("state-signer.crt", chain(stateSigner));
  write("state-signer.key", stateSigner.keyPem, 0o600);
  write("operator.crt", chain(operator));
  write("operator.key", operator.keyPem, 0o600);
  for (const [dc, ca] of Object.entries(cas)) write(`${dc}-issuing-ca.crt`, ca.certificatePem);

  const manifests = join(releasesDir, "manifests");
  const notAfter = new Date(Date.now() + 2 * 365 * 86_400_000).toISOString().slice(0, 10) + "T00:00:00Z";
  // Hand-written manifests, if any (every example release is made from the lab's definitions now).
  const handWritten = (existsSync(manifests) ? readdirSync(manifests) : [])
    .filter((n) => n.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(manifests, f), "utf8")) as ReleaseManifest);
  const releaseFiles: string[] = [];
  const releaseRefs: string[] = [];
  for (const manifest of [...handWritten, ...labDefinedManifests(notAfter)]) {
    const signed = signRelease(manifest, {
      privateKey: createPrivateKey(signer.keyPem),
      certificatePem: signer.certificatePem,
      chainPem: issuing.certificatePem,
    });
    const out = join(releasesDir, `${manifest.name}-${manifest.version}.signed.json`);
    writeFileSync(out, `${JSON.stringify(signed, null, 2)}\n`);
    releaseFiles.push(out);
    releaseRefs.push(`${manifest.name}@${manifest.version}`);
  }
  // a release no longer made (an older version) would still look signed and current: remove it
  for (const f of readdirSync(releasesDir))
    if (f.endsWith(".signed.json") && !releaseFiles.includes(join(releasesDir, f)))
      rmSync(join(releasesDir, f));
  return {
    rootCertificatePem: root.certificatePem,
    // the signed-software policy takes the bare hex digest
    signerFingerprint: certificateFingerprint(pki.parseCertificate(signer.certificatePem).der).replace(
      /^sha256:/,
      "",
    ),
    releaseFiles,
    releaseRefs,
    userIssuers: Object.fromEntries(
      Object.entries(cas).map(([dc, ca]) => [dc, mariadbDn(new X509Certificate(ca.certificatePem).subject)]),
    ),
    keysDir,
  };
}

/** Replaces the rootCa block of the example global stack with an offline root. */
function pointGlobalStackAt(rootPem: string): void {
  const file = join(ROOT, "stacks", "Pulumi.global.yaml");
  const text = readFileSync(file, "utf8");
  const block =
    "    rootCa:\n      mode: offline\n      certificate: |\n" +
    rootPem
      .trim()
      .split("\n")
      .map((l) => `        ${l}`)
      .join("\n") +
    "\n";
  const without = text.replace(/ {4}rootCa:\n(?: {6,}.*\n)+/, "");
  writeFileSync(file, without.replace("  zeroroot:global:\n", `  zeroroot:global:\n${block}`));
}

function pointPolicyConfigAt(fingerprint: string): void {
  const file = join(ROOT, "policies", "policy-config.json");
  const config = JSON.parse(readFileSync(file, "utf8")) as {
    "signed-software": { authorisedSigners: { fingerprint: string }[] };
  };
  // the fingerprint replaced in place: the file keeps its (prettier) layout
  const text = readFileSync(file, "utf8");
  const old = config["signed-software"].authorisedSigners[0].fingerprint;
  writeFileSync(file, text.replace(`"fingerprint": "${old}"`, `"fingerprint": "${fingerprint}"`));
}

if (require.main === module) {
  const i = process.argv.indexOf("--keys-dir");
  const keysDir = i > 0 ? resolve(process.argv[i + 1]) : mkdtempSync(join(tmpdir(), "zr-example-keys-"));
  const r = makeExampleReleases(join(ROOT, "releases"), keysDir);
  pointGlobalStackAt(r.rootCertificatePem);
  pointPolicyConfigAt(r.signerFingerprint);
  const ref = (name: string) => r.releaseRefs.find((x) => x.startsWith(`${name}@`))!;
  const stackFiles = Object.fromEntries(
    DATA_CENTERS.map((dc) => [dc, join(ROOT, "stacks", `Pulumi.${dc}.yaml`)]),
  );
  writeExampleDatastores(stackFiles, {
    postgresql: ref("postgresql"),
    galera: ref("mariadb-galera"),
    userIssuers: r.userIssuers,
  });
  writeExampleClusters(stackFiles, ref(DASK_RELEASE_NAME));
  process.stdout.write(
    `signed ${r.releaseFiles.length} release(s); signer fingerprint ${r.signerFingerprint}\n` +
      `keys (never commit them): ${r.keysDir}\n` +
      `updated stacks/Pulumi.global.yaml (rootCa), policies/policy-config.json (authorisedSigners) and the datastores and Dask cluster of stacks/Pulumi.dc*.yaml\n`,
  );
}
