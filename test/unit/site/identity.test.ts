/**
 * The site's guards decide on (issuing data center, kind, name), never on a CN: real HTTPS, real
 * certificates from dc1's CAs, dc2's CA and what a compromised dc2 CA can sign.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { files, installIssuingCertificate, issuingCaProblem } from "../../../agents/site/ca";
import { issueFromCsr, PkiError } from "../../../lib/pki";
import { ROUTES } from "../../../lib/site";
import { identityFrom, startSite, type SiteFixture } from "../../helpers/site-fixture";
import { csrFor, forgeLeaf, rejectsWith } from "./helpers";

const REPORT = { agentUser: "zr-agent", agentUid: 2000, listeningTcpPorts: [], bootId: "b" };

describe("site services: identity, not common name, decides who may call", () => {
  let site: SiteFixture;
  before(async () => {
    site = await startSite();
    site.registry.upsert({
      serverId: "dc1-s01",
      hostname: "s01.dc1.zeroroot.test",
      mac: "52:54:00:01:01:11",
      phase: "enrolled",
    });
  });
  after(() => site.close());

  it("accepts dc1's operator on an admin route and dc1's registered computer on a computer route", async () => {
    await site.client(site.operator).get(ROUTES.alerts);
    await site.client(site.issue("computer", "dc1-s01")).post(ROUTES.ready, REPORT);
  });

  it("refuses an operator certificate issued by dc2's CA", async () => {
    await rejectsWith(
      site.client(identityFrom(site.cas.dc2, "user", "operator")).get(ROUTES.alerts),
      403,
      /dc2\/user\/operator is not an operator/,
    );
  });

  it("refuses a service certificate whose CN is operator", async () => {
    await rejectsWith(
      site.client(identityFrom(site.cas.dc1, "service", "operator")).get(ROUTES.alerts),
      403,
      /wrong-kind/,
    );
  });

  it("refuses a user certificate named like a registered computer on the computer routes", async () => {
    const user = identityFrom(site.cas.dc1, "user", "dc1-s01");
    await rejectsWith(site.client(user).post(ROUTES.ready, REPORT), 403, /wrong-kind/);
    await rejectsWith(
      site.client(user).post("/services/csr", { instance: "db", csrPem: csrFor("x") }),
      403,
      /wrong-kind/,
    );
  });

  it("refuses dc2's own computers at dc1's site", async () => {
    await rejectsWith(
      site.client(identityFrom(site.cas.dc2, "computer", "dc2-s01")).post(ROUTES.ready, REPORT),
      403,
      /wrong-data-center/,
    );
  });

  for (const [what, uri, status] of [
    ["under dc2's identity host", "zeroroot://computer.dc2.zeroroot.test/dc1-s01", 403],
    ["claiming dc1's identity host", "zeroroot://computer.dc1.zeroroot.test/dc1-s01", 401],
  ] as const) {
    it(`refuses a computer dc1-s01 minted by a compromised dc2 CA ${what}, for readiness and service certificates`, async () => {
      const forged = forgeLeaf(site.cas.dc2, "computer", "dc1-s01", uri);
      await rejectsWith(site.client(forged).post(ROUTES.ready, REPORT), status);
      await rejectsWith(
        site
          .client(forged)
          .post("/services/csr", { instance: "db", csrPem: csrFor("db.s01.dc1.zeroroot.test") }),
        status,
      );
    });
  }

  it("refuses an operator certificate from a foreign root that copies dc1's zone", async () => {
    await rejectsWith(site.client(site.foreignOperator).get(ROUTES.alerts), 401);
  });

  it("gives the site's own CA computer and service certificates only: a software signer or a user is refused", () => {
    for (const kind of ["software", "user"] as const)
      assert.throws(
        () => issueFromCsr(site.identity.ca, kind, csrFor("alice")),
        (e: unknown) =>
          e instanceof PkiError && e.code === "name-not-permitted" && /may not issue/.test(e.message),
      );
    assert.equal(issuingCaProblem(site.config, site.identity.ca.info), undefined);
  });

  it("refuses to install an issuing CA certificate that may issue users or software", () => {
    const csr = readFileSync(files(site.config.stateDir).issuingCsr, "utf8");
    const wide = issueFromCsr(site.cas.root, "issuing", csr, {
      nameScope: { dnsZones: ["dc1.zeroroot.test"] },
    });
    assert.throws(
      () => installIssuingCertificate(site.config, wide.certificatePem),
      /may issue user, software certificates; a site's online CA may issue only computer and service/,
    );
  });
});
