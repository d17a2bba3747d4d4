import { strict as assert } from "node:assert";
import {
  authoriseJobRequest,
  jobAuthorisation,
  jobLifetime,
  jobRenewalDue,
  type JobRefusal,
} from "../../../lib/compute/job-cert";
import { JOB_CSR_MAX_BYTES } from "../../../lib/compute/job-csr";
import * as pki from "../../../lib/pki";
import { ALICE, CTX, DOMAIN, NODE, ZONE2, csr, opensslCsr, tamperLastByte } from "./job-fixture";

describe("job certificates: the agent's decision (lib/compute/job-cert.ts)", function () {
  this.timeout(60_000);

  it("gives alice's worker partition a certificate for dc1's alice, bound to this node", () => {
    const d = authoriseJobRequest({ uid: ALICE, csrPem: csr("dc1.alice") }, CTX);
    assert.ok(d.ok, d.ok ? "" : `${d.reason}: ${d.detail}`);
    assert.deepEqual(d.owner, { dataCenter: "dc1", kind: "user", name: "alice" });
    assert.equal(d.instance, "dask-dc1-alice-analytics-w1");
    assert.equal(d.lifetimeSeconds, 900);
    assert.deepEqual(jobAuthorisation(d.owner, NODE, d.lifetimeSeconds), {
      commonName: "dc1.alice",
      organization: "10.78.2.14",
      dnsNames: [NODE.hostname],
      ipAddresses: [NODE.address],
      lifetimeSeconds: 900,
    });
  });

  describe("refuses (hostile requests, each one thing wrong)", () => {
    const cases: {
      what: string;
      uid?: number;
      csrPem: () => unknown;
      lifetime?: unknown;
      reason: JobRefusal;
      match: RegExp;
    }[] = [
      {
        what: "bob's worker asking for alice",
        uid: 2102,
        csrPem: () => csr("dc1.alice"),
        reason: "bad-csr",
        match: /only for "dc1\.bob"/,
      },
      {
        what: "a uid this node's desired state gives no partition",
        uid: 2999,
        csrPem: () => csr("dc1.alice"),
        reason: "not-a-worker",
        match: /0 instances/,
      },
      {
        what: "a cluster's scheduler partition (runs no job)",
        uid: 2103,
        csrPem: () => csr("dc1.alice"),
        reason: "not-a-worker",
        match: /not a worker/,
      },
      {
        what: "a datastore's partition",
        uid: 2104,
        csrPem: () => csr("dc1.alice"),
        reason: "not-a-worker",
        match: /not a worker/,
      },
      {
        what: "a worker whose owner is a service, not a user",
        uid: 2105,
        csrPem: () => csr("dc1.alice"),
        reason: "bad-owner",
        match: /no user/,
      },
      {
        what: "another user's CN (the job's word)",
        csrPem: () => csr("dc1.bob"),
        reason: "bad-csr",
        match: /CN "dc1\.bob"/,
      },
      {
        what: "alice of another data center",
        csrPem: () => csr("dc2.alice"),
        reason: "bad-csr",
        match: /CN "dc2\.alice"/,
      },
      {
        what: "a bare user CN (would map to alice's user role)",
        csrPem: () => csr("alice"),
        reason: "bad-csr",
        match: /CN "alice"/,
      },
      {
        what: "an extra DNS name",
        csrPem: () => csr("dc1.alice", [NODE.hostname, `c02.${ZONE2}`]),
        reason: "bad-csr",
        match: /c02\.dc2/,
      },
      {
        what: "another node's address",
        csrPem: () => csr("dc1.alice", [], ["10.78.2.15"]),
        reason: "bad-csr",
        match: /10\.78\.2\.15/,
      },
      {
        what: "a requested CA bit",
        csrPem: () => opensslCsr("dc1.alice", ["basicConstraints=critical,CA:TRUE"]),
        reason: "bad-csr",
        match: /extension 2\.5\.29\.19/,
      },
      {
        what: "a requested serverAuth EKU",
        csrPem: () => opensslCsr("dc1.alice", ["extendedKeyUsage=serverAuth"]),
        reason: "bad-csr",
        match: /extension 2\.5\.29\.37/,
      },
      {
        what: "requested name constraints",
        csrPem: () => opensslCsr("dc1.alice", ["nameConstraints=critical,permitted;DNS:example.org"]),
        reason: "bad-csr",
        match: /extension 2\.5\.29\.30/,
      },
      {
        what: "an oversized CSR (150 names)",
        csrPem: () =>
          csr(
            "dc1.alice",
            Array.from({ length: 150 }, (_, i) => `n${i}.${ZONE2}`),
          ),
        reason: "bad-csr",
        match: new RegExp(`at most ${JOB_CSR_MAX_BYTES}`),
      },
      {
        what: "a CSR that is not text",
        csrPem: () => ({ pem: "x" }),
        reason: "bad-csr",
        match: /object, not PEM/,
      },
      {
        what: "a CSR whose signature is not the key's",
        csrPem: () => tamperLastByte(csr("dc1.alice")),
        reason: "bad-csr",
        match: /not usable: .*signature/,
      },
      {
        what: "a lifetime over an hour",
        csrPem: () => csr("dc1.alice"),
        lifetime: 3601,
        reason: "bad-lifetime",
        match: /from 60 to 3600/,
      },
      {
        what: "a lifetime under a minute",
        csrPem: () => csr("dc1.alice"),
        lifetime: 59,
        reason: "bad-lifetime",
        match: /from 60 to 3600/,
      },
      {
        what: "a fractional lifetime",
        csrPem: () => csr("dc1.alice"),
        lifetime: 600.5,
        reason: "bad-lifetime",
        match: /600\.5/,
      },
      {
        what: "a lifetime as text",
        csrPem: () => csr("dc1.alice"),
        lifetime: "900",
        reason: "bad-lifetime",
        match: /is a string/,
      },
    ];
    for (const c of cases)
      it(c.what, () => {
        const d = authoriseJobRequest(
          { uid: c.uid ?? ALICE, csrPem: c.csrPem(), lifetimeSeconds: c.lifetime },
          CTX,
        );
        assert.equal(d.ok, false);
        if (d.ok) return;
        assert.equal(d.reason, c.reason, d.detail);
        assert.match(d.detail, c.match);
      });

    it("a node whose configuration names another data center's host or computer", () => {
      for (const node of [
        { ...NODE, hostname: `c01.dc1.${DOMAIN}` },
        { ...NODE, computerId: "dc1-c01" },
      ]) {
        const d = authoriseJobRequest({ uid: ALICE, csrPem: csr("dc1.alice") }, { ...CTX, node });
        assert.equal(d.ok ? "ok" : d.reason, "wrong-node");
      }
    });
  });

  describe("names and renewal", () => {
    it("reads a job name as its owner and refuses names that are not <dc>.<user>", () => {
      assert.deepEqual(pki.jobOwnerOf("dc3.bob_smith"), {
        dataCenter: "dc3",
        kind: "user",
        name: "bob_smith",
      });
      for (const bad of [
        "alice",
        "dc1.alice.x",
        "dc1.",
        ".alice",
        "dc1.replicator",
        "dc1.zr-p001",
        "DC1.alice",
        "1dc.alice",
      ])
        assert.equal(typeof pki.jobOwnerOf(bad), "string", bad);
    });

    it("renews once a third of the life is left", () => {
      const from = new Date("2026-12-02T00:00:00Z");
      const to = new Date(from.getTime() + 900_000);
      assert.equal(jobRenewalDue(from, to, new Date(from.getTime() + 599_000)), false);
      assert.equal(jobRenewalDue(from, to, new Date(from.getTime() + 600_000)), true);
      assert.equal(jobRenewalDue(from, to, new Date(to.getTime() + 1)), true);
    });

    it("takes the default lifetime of 15 minutes when none is asked", () => {
      assert.equal(jobLifetime(undefined), 900);
      assert.equal(jobLifetime(3600), 3600);
    });
  });
});
