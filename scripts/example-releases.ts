/**
 * Regenerates the example signed releases (releases/<name>-<version>.signed.json) from
 * releases/manifests/*.json with a throw-away example hierarchy, and points the example stacks at it:
 * the root certificate in stacks/Pulumi.global.yaml (rootCa: offline) and the software signer's
 * fingerprint in policies/policy-config.json.
 *
 *   npx tsx scripts/example-releases.ts [--keys-dir DIR]
 *
 * Every private key (root, issuing CA, release signer, and a desired-state signer and operator
 * identity for a lab deploy) is written only under DIR (default: a new temp directory, printed), never
 * into the repository. The example root key is thrown away with DIR: nothing in the repository can
 * sign for the example root.
 */
import { createPrivateKey } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as pki from "../lib/pki";
import { certificateFingerprint, signRelease } from "../lib/release";

const ROOT = resolve(__dirname, "..");

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
  readonly keysDir: string;
}

/** Makes the hierarchy, signs every manifest into `releasesDir`, writes keys under `keysDir`. */
export function makeExampleReleases(releasesDir: string, keysDir: string): ExampleResult {
  const root = pki.createRootCa({ commonName: "zeroroot example root CA (offline)" });
  const issuingKeys = pki.generateKeyPair("ec-p256");
  const issuingCert = pki.issueFromCsr(
    root.ca,
    "issuing",
    pki.createCsr({ commonName: "zeroroot example dc1 issuing CA" }, issuingKeys.privateKey),
    { nameScope: { dnsZones: ["dc1.zeroroot.example"] } },
  );
  const issuing = pki.loadCa(issuingCert.certificatePem, pki.exportPkcs8(issuingKeys.privateKey));
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

  const manifests = join(releasesDir, "manifests");
  const releaseFiles: string[] = [];
  for (const f of readdirSync(manifests)
    .filter((n) => n.endsWith(".json"))
    .sort()) {
    const manifest = JSON.parse(readFileSync(join(manifests, f), "utf8")) as {
      name: string;
      version: string;
    };
    const signed = signRelease(manifest, {
      privateKey: createPrivateKey(signer.keyPem),
      certificatePem: signer.certificatePem,
      chainPem: issuing.certificatePem,
    });
    const out = join(releasesDir, `${manifest.name}-${manifest.version}.signed.json`);
    writeFileSync(out, `${JSON.stringify(signed, null, 2)}\n`);
    releaseFiles.push(out);
  }
  return {
    rootCertificatePem: root.certificatePem,
    // the signed-software policy takes the bare hex digest
    signerFingerprint: certificateFingerprint(pki.parseCertificate(signer.certificatePem).der).replace(
      /^sha256:/,
      "",
    ),
    releaseFiles,
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
  config["signed-software"].authorisedSigners[0].fingerprint = fingerprint;
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
}

if (require.main === module) {
  const i = process.argv.indexOf("--keys-dir");
  const keysDir = i > 0 ? resolve(process.argv[i + 1]) : mkdtempSync(join(tmpdir(), "zr-example-keys-"));
  const r = makeExampleReleases(join(ROOT, "releases"), keysDir);
  pointGlobalStackAt(r.rootCertificatePem);
  pointPolicyConfigAt(r.signerFingerprint);
  process.stdout.write(
    `signed ${r.releaseFiles.length} release(s); signer fingerprint ${r.signerFingerprint}\n` +
      `keys (never commit them): ${r.keysDir}\n` +
      `updated stacks/Pulumi.global.yaml (rootCa) and policies/policy-config.json (authorisedSigners)\n`,
  );
}
