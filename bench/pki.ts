/**
 * `npm run bench -- pki`: issuing service certificates from CSRs (parse + CSR signature check +
 * profile + encode + sign) against raw ECDSA P-256 signatures with node:crypto, and against
 * `openssl x509 -req` per certificate. Prints times and ratios measured in this one run, and for
 * information the cost of the parts no encoder can remove (CSR verification, public key import).
 */
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pki from "../lib/pki";
import { issueFromCsrWith } from "../lib/pki/ca";
import { importSpki } from "../lib/pki/fast-csr";

const N = 10_000;
const OPENSSL_N = 200;

export async function run(): Promise<void> {
  const root = pki.createRootCa({ commonName: "bench root CA" });
  const caKey = pki.generateKeyPair();
  const caCsr = pki.createCsr({ commonName: "dc1.bench.example issuing CA" }, caKey.privateKey);
  const caCert = pki.issueFromCsr(root.ca, "issuing", caCsr, {
    nameScope: { dnsZones: ["dc1.bench.example"], ipNetworks: ["10.0.0.0/8"] },
  });
  const ca = pki.loadCa(caCert.certificatePem, pki.exportPkcs8(caKey.privateKey));
  // CSRs are made before timing: in production they arrive from the nodes.
  const csrs = Array.from({ length: 100 }, (_, i) => {
    const k = pki.generateKeyPair();
    return pki.createCsr(
      {
        commonName: `svc-${i}.dc1.bench.example`,
        dnsNames: [`svc-${i}.dc1.bench.example`],
        ipAddresses: [`10.1.0.${i + 1}`],
      },
      k.privateKey,
    );
  });
  // Issuance, raw signing and raw verification alternate in blocks, so that a change in machine load
  // during the run hits all three alike and the ratios stay meaningful.
  const data = crypto.randomBytes(400);
  const sig = crypto.sign("sha256", data, caKey.privateKey);
  const spkis = csrs.map((c) => pki.parseCsr(c).spkiDer);
  const block = 1_000;
  let issueMs = 0;
  let signMs = 0;
  let verifyMs = 0;
  let importMs = 0;
  for (let done = 0; done < N; done += block) {
    let t = performance.now();
    for (let i = done; i < done + block; i++) pki.issueFromCsr(ca, "service", csrs[i % csrs.length]);
    issueMs += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < block; i++) crypto.sign("sha256", data, caKey.privateKey);
    signMs += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < block; i++) crypto.verify("sha256", data, caKey.publicKey, sig);
    verifyMs += performance.now() - t;
    t = performance.now();
    for (let i = done; i < done + block; i++) importSpki(spkis[i % spkis.length]);
    importMs += performance.now() - t;
  }
  // For information: the schema encoder (still used for CA profiles and unusual inputs).
  const LIB_N = 1_000;
  const t = performance.now();
  for (let i = 0; i < LIB_N; i++)
    issueFromCsrWith({ encoder: "library" }, ca, "service", csrs[i % csrs.length]);
  const libraryMs = performance.now() - t;

  const opensslMs = opensslPerCert(
    caCert.certificatePem,
    pki.exportPkcs8(caKey.privateKey).toString(),
    csrs[0],
  );
  const per = (ms: number, n: number) => `${((ms / n) * 1000).toFixed(1)} µs`;
  const x = (r: number) => `${r.toFixed(2)}x`;
  process.stdout.write(
    [
      `pki: ${N} service certificates issued from CSRs: ${issueMs.toFixed(0)} ms (${per(issueMs, N)} each)`,
      `pki: ${N} raw ECDSA P-256 signatures (node:crypto): ${signMs.toFixed(0)} ms (${per(signMs, N)} each)`,
      `pki: ratio issuance / raw signing: ${x(issueMs / signMs)} (target <= 2x)`,
      `pki: ${N} ECDSA P-256 verifications (the CSR check every issuance does): ${verifyMs.toFixed(0)} ms (${per(verifyMs, N)} each); floor of issuance / signing = ${x((signMs + verifyMs) / signMs)}`,
      `pki: for information, ratio issuance without the CSR verify / raw signing: ${x((issueMs - verifyMs) / signMs)}`,
      `pki: of which importing the CSR's public key (node:crypto KeyObject): ${per(importMs, N)} each = ${x(importMs / signMs)} of a signature; floor with it = ${x((signMs + verifyMs + importMs) / signMs)}`,
      `pki: for information, ${LIB_N} certificates with the schema encoder (CA profiles, unusual inputs): ${per(libraryMs, LIB_N)} each`,
      `pki: openssl x509 -req, ${OPENSSL_N} runs: ${per(opensslMs * OPENSSL_N, OPENSSL_N)} per certificate; ratio openssl / zeroroot per certificate: ${(opensslMs / (issueMs / N)).toFixed(1)}x`,
      "",
    ].join("\n"),
  );
}

/** Milliseconds per certificate for `openssl x509 -req` (a process per certificate, as a shell CA does). */
function opensslPerCert(caPem: string, caKeyPem: string, csrPem: string): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-bench-"));
  const f = (n: string, s: string) => (fs.writeFileSync(path.join(dir, n), s), path.join(dir, n));
  const args = [
    "x509",
    "-req",
    "-in",
    f("r.csr", csrPem),
    "-CA",
    f("ca.pem", caPem),
    "-CAkey",
    f("ca.key", caKeyPem),
    "-CAcreateserial",
    "-days",
    "90",
    "-extfile",
    f("ext", "subjectAltName=DNS:svc-0.dc1.bench.example\nextendedKeyUsage=serverAuth,clientAuth\n"),
    "-out",
    path.join(dir, "o.pem"),
  ];
  const t = performance.now();
  for (let i = 0; i < OPENSSL_N; i++) {
    const r = spawnSync("openssl", args);
    if (r.status !== 0) throw new Error(`openssl x509 -req failed: ${r.stderr}`);
  }
  const ms = (performance.now() - t) / OPENSSL_N;
  fs.rmSync(dir, { recursive: true, force: true });
  return ms;
}

if (require.main === module) void run();
