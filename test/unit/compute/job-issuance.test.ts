import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { authoriseJobRequest, jobAuthorisation } from "../../../lib/compute/job-cert";
import * as pki from "../../../lib/pki";
import { forge } from "../pki/forge";
import { opensslVerify, tempDir, tool } from "../pki/helpers";
import { ALICE, CTX, DOMAIN, NODE, ZONE2, csr, hierarchy } from "./job-fixture";

describe("job certificates: what the site's CA issues and what verifiers accept", function () {
  this.timeout(60_000);
  const h = hierarchy();

  describe("issuance by the site's CA", () => {
    const issue = (lifetimeSeconds?: number, now = new Date()) => {
      const d = authoriseJobRequest({ uid: ALICE, csrPem: csr("dc1.alice"), lifetimeSeconds }, CTX);
      assert.ok(d.ok);
      return pki.issueFromCsr(
        h.site,
        "job",
        csr("dc1.alice"),
        jobAuthorisation(d.owner, NODE, d.lifetimeSeconds),
        {
          now,
        },
      );
    };

    it("issues what openssl verifies under the root's name constraints, and verifyIdentity reads as dc2/job/dc1.alice", () => {
      const leaf = issue(300);
      assert.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime(), 300_000 + pki.MAX_BACKDATE_MS);
      const dir = tempDir("job-verify");
      const file = (n: string, pem: string) => (fs.writeFileSync(path.join(dir, n), pem), path.join(dir, n));
      const ok = opensslVerify(
        file("root.pem", h.root.certificatePem),
        file("ca.pem", h.site.certificatePem),
        file("job.pem", leaf.certificatePem),
        "sslclient",
      );
      assert.equal(ok.status, 0, ok.out);
      // a job certificate is no server: TLS servers (datastores' peers, Dask listeners) must not accept it as one
      const server = opensslVerify(
        path.join(dir, "root.pem"),
        path.join(dir, "ca.pem"),
        path.join(dir, "job.pem"),
        "sslserver",
      );
      assert.notEqual(server.status, 0);
      const subject = tool("openssl", [
        "x509",
        "-noout",
        "-subject",
        "-nameopt",
        "RFC2253",
        "-in",
        path.join(dir, "job.pem"),
      ]);
      // what PostgreSQL's clientname=DN and MariaDB's REQUIRE SUBJECT see
      assert.equal(subject.out.trim(), "subject=CN=dc1.alice,O=10.78.2.14");
      const r = pki.verifyIdentity([leaf.certificatePem, h.site.certificatePem], h.root.certificatePem, {
        use: "clientAuth",
        expect: { kinds: ["job"] },
      });
      assert.ok(r.ok, r.ok ? "" : `${r.reason}: ${r.detail}`);
      assert.equal(pki.formatIdentity(r.identity), "dc2/job/dc1.alice");
      assert.deepEqual(pki.jobOwnerOf(r.identity.name), { dataCenter: "dc1", kind: "user", name: "alice" });
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("caps the lifetime at the profile's hour and refuses more or a node-less job certificate", () => {
      const leaf = issue();
      assert.equal(leaf.notAfter.getTime() - Date.now() <= 900_000, true);
      const c = csr("dc1.alice");
      const names = { commonName: "dc1.alice", dnsNames: [NODE.hostname], ipAddresses: [NODE.address] };
      assert.throws(
        () => pki.issueFromCsr(h.site, "job", c, { ...names, lifetimeSeconds: 3601 }),
        /from 60 to 3600/,
      );
      const hour = pki.issueFromCsr(h.site, "job", c, { ...names, validityDays: 1 });
      assert.equal(hour.notAfter.getTime() - hour.notBefore.getTime(), 3600_000 + pki.MAX_BACKDATE_MS);
      assert.throws(() => pki.issueFromCsr(h.site, "job", c, { commonName: "dc1.alice" }), {
        code: "name-not-authorised",
      });
      assert.throws(
        () => pki.issueFromCsr(h.site, "service", csr(`pg.${ZONE2}`), { lifetimeSeconds: 600 }),
        /only for short-lived/,
      );
    });

    it("refuses a node outside the CA's data center (its IP networks and DNS zone)", () => {
      const c = csr("dc1.alice");
      assert.throws(
        () =>
          pki.issueFromCsr(h.site, "job", c, { commonName: "dc1.alice", dnsNames: [`c01.dc1.${DOMAIN}`] }),
        { code: "name-not-permitted" },
      );
      assert.throws(
        () =>
          pki.issueFromCsr(h.site, "job", c, {
            commonName: "dc1.alice",
            dnsNames: [NODE.hostname],
            ipAddresses: ["10.78.1.14"],
          }),
        { code: "name-not-permitted" },
      );
    });

    it("refuses to issue from a site CA the root did not permit jobs, and openssl refuses what its key signs anyway", () => {
      const old = hierarchy(["computer", "service"]);
      assert.throws(
        () => pki.issueFromCsr(old.site, "job", csr("dc1.alice"), { dnsNames: [NODE.hostname] }),
        { code: "name-not-permitted" },
      );
      const forged = forge(old.site, {
        cn: "dc1.alice",
        publicKey: pki.generateKeyPair().publicKey,
        eku: ["clientAuth"],
        dns: [NODE.hostname],
        uris: [`zeroroot://job.${ZONE2}/dc1.alice`],
        notAfter: new Date(Date.now() + 600_000),
      });
      const dir = tempDir("job-forged");
      const file = (n: string, pem: string) => (fs.writeFileSync(path.join(dir, n), pem), path.join(dir, n));
      const bad = opensslVerify(
        file("root.pem", old.root.certificatePem),
        file("ca.pem", old.site.certificatePem),
        file("job.pem", forged),
        "sslclient",
      );
      assert.notEqual(bad.status, 0);
      assert.match(bad.out, /permitted subtree violation/);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("verifyIdentity refuses a job certificate a lax CA made to live longer than an hour", () => {
      const now = Date.now();
      const long = forge(h.site, {
        cn: "dc1.alice",
        publicKey: pki.generateKeyPair().publicKey,
        eku: ["clientAuth"],
        dns: [NODE.hostname],
        uris: [`zeroroot://job.${ZONE2}/dc1.alice`],
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 2 * 3600_000),
      });
      const r = pki.verifyIdentity([long, h.site.certificatePem], h.root.certificatePem, {
        use: "clientAuth",
      });
      assert.equal(r.ok ? "ok" : r.reason, "wrong-kind");
      assert.match(r.ok ? "" : r.detail, /at most 3600 s/);
    });
  });
});
