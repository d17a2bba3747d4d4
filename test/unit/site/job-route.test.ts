import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { JOB_CSR_ROUTE } from "../../../lib/compute/job-protocol";
import { createCsr, generateKeyPair, parseCertificate, verifyIdentity, type KeyPair } from "../../../lib/pki";
import type { AgentContext } from "../../../agents/node/context";
import { JobCertificateRefused, obtainJobCertificate } from "../../../agents/node/job-cert";
import { jobSocketPath, serveJobSocket } from "../../../agents/node/job-socket";
import { jobAgent, JOB_NODE_HOST } from "../../helpers/job-agent";
import { startSite, type SiteFixture } from "../../helpers/site-fixture";
import { opensslVerify, tool } from "../pki/helpers";

const HOST = JOB_NODE_HOST;

describe("job certificates through the agent and the site (POST /jobs/csr, real mutual TLS)", function () {
  this.timeout(60_000);
  let site: SiteFixture;
  let dir: string;
  let ctx: AgentContext;
  let jobKey: KeyPair;
  const csrFor = (cn: string, names: { dnsNames?: string[]; ipAddresses?: string[] } = {}) =>
    createCsr({ commonName: cn, ...names }, jobKey.privateKey);

  before(async () => {
    site = await startSite();
    ({ ctx, dir } = jobAgent(site));
    jobKey = generateKeyPair();
  });
  after(async () => {
    await site.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("issues alice's worker a job certificate named by the site: owner, host name and source address", async () => {
    const r = await obtainJobCertificate(ctx, 2101, { csrPem: csrFor("dc1.alice"), lifetimeSeconds: 120 });
    const cert = parseCertificate(r.certificatePem);
    assert.equal(cert.commonName, "dc1.alice");
    assert.deepEqual(cert.dnsNames, [HOST]);
    assert.deepEqual(cert.ipAddresses, ["127.0.0.1"]);
    assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), 420_000);
    const id = verifyIdentity([r.certificatePem, site.identity.ca.certificatePem], site.rootPem, {
      use: "clientAuth",
    });
    assert.deepEqual(id.ok && id.identity, { dataCenter: "dc1", kind: "job", name: "dc1.alice" });
    const f = (n: string, pem: string) => (fs.writeFileSync(path.join(dir, n), pem), path.join(dir, n));
    const ok = opensslVerify(
      f("root.pem", site.rootPem),
      f("ca.pem", site.identity.ca.certificatePem),
      f("job.pem", r.certificatePem),
      "sslclient",
    );
    assert.equal(ok.status, 0, ok.out);
    const subject = tool("openssl", [
      "x509",
      "-noout",
      "-subject",
      "-nameopt",
      "RFC2253",
      "-in",
      path.join(dir, "job.pem"),
    ]);
    assert.equal(subject.out.trim(), "subject=CN=dc1.alice,O=127.0.0.1");
    assert.ok(site.logs.some((l) => /job certificate dc1\.alice for dc1-c01 at 127\.0\.0\.1/.test(l)));
    assert.ok(!site.logs.join("\n").includes("PRIVATE KEY"));
  });

  it("serves it to the job over the partition's socket: only a CSR goes in, the key stays with the job", async () => {
    const inst = path.join(dir, "partitions", "zr-p2101");
    fs.mkdirSync(inst, { recursive: true });
    fs.chmodSync(inst, 0o2750);
    const srv = await serveJobSocket(
      inst,
      (r) => obtainJobCertificate(ctx, 2101, r),
      () => undefined,
    );
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const c = net.createConnection(jobSocketPath(inst));
        let out = "";
        c.on("data", (d) => (out += d.toString()));
        c.on("error", reject);
        c.on("close", () => resolve(out));
        c.write(`${JSON.stringify({ csrPem: csrFor("dc1.alice"), lifetimeSeconds: 60 })}\n`);
      });
      const r = JSON.parse(answer) as { certificatePem: string; notAfter: string };
      assert.equal(parseCertificate(r.certificatePem).commonName, "dc1.alice");
      assert.ok(Date.parse(r.notAfter) - Date.now() <= 60_000);
      assert.ok(!answer.includes("PRIVATE KEY"));
    } finally {
      srv.close();
    }
  });

  it("acts for the owner of the asking partition, never for the one the job names, and raises an alert", async () => {
    await assert.rejects(
      obtainJobCertificate(ctx, 2102, { csrPem: csrFor("dc1.alice") }),
      (e: unknown) => e instanceof JobCertificateRefused && /only for "dc2\.bob"/.test(e.message),
    );
    await assert.rejects(
      obtainJobCertificate(ctx, 2103, { csrPem: csrFor("dc1.alice") }),
      JobCertificateRefused,
    );
    const alerts = ctx.alerts.queued().filter((a) => a.kind === "job-certificate-refused");
    assert.deepEqual(
      alerts.map((a) => a.evidence),
      [
        { uid: 2102, reason: "bad-csr" },
        { uid: 2103, reason: "not-a-worker" },
      ],
    );
  });

  describe("the site refuses on its own (an agent that lies or misbehaves)", () => {
    const post = (body: unknown, who = site.issue("computer", "dc1-c01")) =>
      site.client(who).post(JOB_CSR_ROUTE, body);
    const cases: {
      what: string;
      body: () => unknown;
      match: RegExp;
      who?: () => ReturnType<SiteFixture["issue"]>;
    }[] = [
      {
        what: "another node's host name in the CSR",
        body: () => ({
          owner: "dc1/user/alice",
          csrPem: csrFor("dc1.alice", { dnsNames: ["c02.dc1.zeroroot.test"] }),
        }),
        match: /400 CSR refused.*c02/,
      },
      {
        what: "another address in the CSR",
        body: () => ({
          owner: "dc1/user/alice",
          csrPem: csrFor("dc1.alice", { ipAddresses: ["127.0.0.2"] }),
        }),
        match: /400 CSR refused.*127\.0\.0\.2/,
      },
      {
        what: "a CN of another owner than the one asked for",
        body: () => ({ owner: "dc1/user/alice", csrPem: csrFor("dc1.bob") }),
        match: /400 CSR refused.*dc1\.bob/,
      },
      {
        what: "an owner that is a service",
        body: () => ({ owner: "dc1/service/pg.dc1.zeroroot.test", csrPem: csrFor("dc1.alice") }),
        match: /400 owner:.*not a user/,
      },
      {
        what: "a reserved user as owner",
        body: () => ({ owner: "dc1/user/replicator", csrPem: csrFor("dc1.replicator") }),
        match: /400 owner:.*reserved/,
      },
      {
        what: "two hours",
        body: () => ({ owner: "dc1/user/alice", csrPem: csrFor("dc1.alice"), lifetimeSeconds: 7200 }),
        match: /400 lifetimeSeconds:.*60 to 3600/,
      },
      {
        what: "an oversized CSR",
        body: () => ({ owner: "dc1/user/alice", csrPem: "A".repeat(5000) }),
        match: /400/,
      },
      {
        what: "an unknown field",
        body: () => ({ owner: "dc1/user/alice", csrPem: csrFor("dc1.alice"), ca: true }),
        match: /400/,
      },
      {
        what: "a computer this site did not register",
        body: () => ({ owner: "dc1/user/alice", csrPem: csrFor("dc1.alice") }),
        who: () => site.issue("computer", "dc1-c99"),
        match: /403/,
      },
      {
        what: "a user certificate (not a computer)",
        body: () => ({ owner: "dc1/user/alice", csrPem: csrFor("dc1.alice") }),
        who: () => site.issue("user", "alice"),
        match: /403/,
      },
    ];
    for (const c of cases)
      it(c.what, async () => {
        await assert.rejects(post(c.body(), c.who?.()), c.match);
      });
  });
});
