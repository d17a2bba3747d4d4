/**
 * `npm run bench -- pki`: issuing service certificates from CSRs (parse + CSR signature check +
 * profile + encode + sign) against raw ECDSA P-256 signatures with node:crypto, and against
 * `openssl x509 -req` per certificate. Prints times and ratios measured in this one run.
 */
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pki from "../lib/pki";

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
  let t = performance.now();
  for (let i = 0; i < N; i++) pki.issueFromCsr(ca, "service", csrs[i % csrs.length]);
  const issueMs = performance.now() - t;

  const tbs = crypto.randomBytes(400);
  t = performance.now();
  for (let i = 0; i < N; i++) crypto.sign("sha256", tbs, caKey.privateKey);
  const signMs = performance.now() - t;
  const sig = crypto.sign("sha256", tbs, caKey.privateKey);
  t = performance.now();
  for (let i = 0; i < N; i++) crypto.verify("sha256", tbs, caKey.publicKey, sig);
  const verifyMs = performance.now() - t;

  const opensslMs = opensslPerCert(
    caCert.certificatePem,
    pki.exportPkcs8(caKey.privateKey).toString(),
    csrs[0],
  );
  const per = (ms: number, n: number) => `${((ms / n) * 1000).toFixed(1)} µs`;
  process.stdout.write(
    [
      `pki: ${N} service certificates issued from CSRs: ${issueMs.toFixed(0)} ms (${per(issueMs, N)} each)`,
      `pki: ${N} raw ECDSA P-256 signatures (node:crypto): ${signMs.toFixed(0)} ms (${per(signMs, N)} each)`,
      `pki: ratio issuance / raw signing: ${(issueMs / signMs).toFixed(2)}x (target <= 2x)`,
      `pki: for reference, ${N} ECDSA P-256 verifications (the CSR check every issuance needs): ${verifyMs.toFixed(0)} ms; floor of issuance / signing = ${((signMs + verifyMs) / signMs).toFixed(2)}x`,
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
