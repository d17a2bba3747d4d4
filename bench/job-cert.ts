/**
 * `npm run bench -- job-cert`: the time for a job to get its certificate, as a job does it — a
 * fresh P-256 key and CSR, the agent's decision (obtainJobCertificate), POST /jobs/csr to a real
 * site over mutual TLS, the site's screening and issuance, the agent's check of the answer — next to
 * the same site's service-certificate round trip (fresh key, POST /services/csr) as the baseline,
 * interleaved, medians of ROUNDS. Issue #12's target: < 50 ms median.
 */
import * as fs from "node:fs";
import { obtainJobCertificate } from "../agents/node/job-cert";
import { createCsr, generateKeyPair } from "../lib/pki";
import { jobAgent } from "../test/helpers/job-agent";
import { startSite } from "../test/helpers/site-fixture";

const ROUNDS = 200;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(): Promise<void> {
  const site = await startSite();
  const { ctx, dir } = jobAgent(site);
  const client = site.client(site.issue("computer", "dc1-c01"));
  const job: number[] = [];
  const service: number[] = [];
  try {
    for (let i = 0; i < ROUNDS + 10; i++) {
      let t = performance.now();
      const key = generateKeyPair().privateKey;
      await obtainJobCertificate(ctx, 2101, { csrPem: createCsr({ commonName: "dc1.alice" }, key) });
      const j = performance.now() - t;
      t = performance.now();
      const skey = generateKeyPair().privateKey;
      const name = "bench.c01.dc1.zeroroot.test";
      await client.post("/services/csr", {
        instance: "bench",
        csrPem: createCsr({ commonName: name, dnsNames: [name] }, skey),
      });
      const s = performance.now() - t;
      // the first rounds warm up TLS and the JIT
      if (i >= 10) {
        job.push(j);
        service.push(s);
      }
    }
  } finally {
    await site.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const [mj, ms] = [median(job), median(service)];
  console.log(
    `job certificate (key + CSR + agent decision + site over mTLS + check), median of ${ROUNDS}: ${mj.toFixed(1)} ms ` +
      `(target < 50 ms: ${mj < 50 ? "met" : "NOT met"}); service certificate round trip: ${ms.toFixed(1)} ms; ratio ${(mj / ms).toFixed(2)}x`,
  );
}
