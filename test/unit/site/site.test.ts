/** The site services over real HTTPS on loopback: mutual TLS on every route but the token ones. */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { createCsr, generateKeyPair, parseCertificate, verifyCertificate } from "../../../lib/pki";
import { ROUTES, SiteError, type EnrollResponse, type NetbootConfig } from "../../../lib/site";
import { startSite, type SiteFixture } from "../../helpers/site-fixture";

const MAC = "52:54:00:01:01:11";

describe("site services", () => {
  let site: SiteFixture;
  before(async () => (site = await startSite()));
  after(() => site.close());

  const arm = (serverId = "dc1-s01", mac = MAC) =>
    site
      .client(site.operator)
      .post(ROUTES.arm, { serverId, hostname: `${serverId.slice(4)}.dc1.zeroroot.test`, mac });
  const csrFor = (cn: string, dns: string[] = []) =>
    createCsr({ commonName: cn, dnsNames: dns }, generateKeyPair().privateKey);
  const rejectsWith = (p: Promise<unknown>, status: number, text?: RegExp) =>
    assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof SiteError, String(e));
      assert.equal(e.status, status, e.message);
      if (text) assert.match(e.message, text);
      return true;
    });

  it("arms an install without ever returning the token to the operator", async () => {
    const r = await arm();
    assert.deepEqual(r, { serverId: "dc1-s01", phase: "armed" });
  });

  it("hands the netboot configuration out once, then enrolls with the token from the right MAC", async () => {
    await arm();
    const anonymous = site.client();
    const netboot = await anonymous.get<NetbootConfig>(ROUTES.netboot(MAC));
    await rejectsWith(anonymous.get(ROUTES.netboot(MAC)), 404);
    const image = await anonymous.getBuffer(ROUTES.image(netboot.imageSha256), {
      authorization: `Bearer ${netboot.token}`,
    });
    assert.equal(createHash("sha256").update(image).digest("hex"), netboot.imageSha256);
    const enrolled = await anonymous.post<EnrollResponse>(
      ROUTES.enroll,
      { mac: MAC, csrPem: csrFor("dc1-s01") },
      { authorization: `Bearer ${netboot.token}` },
    );
    const cert = parseCertificate(enrolled.certificatePem);
    assert.equal(cert.commonName, "dc1-s01");
    assert.deepEqual(
      cert.dnsNames,
      ["s01.dc1.zeroroot.test"],
      "the site names the host itself, whatever the CSR asks",
    );
    assert.ok(
      verifyCertificate([enrolled.certificatePem, site.identity.ca.certificatePem], site.rootPem, {
        use: "clientAuth",
      }).ok,
    );
    const status = await site.client(site.operator).get<{ phase: string }>(ROUTES.server("dc1-s01"));
    assert.equal(status.phase, "enrolled");
    assert.ok(!site.logs.join("\n").includes(netboot.token), "the token is never logged");
  });

  it("refuses a reused token and records an alert naming the server", async () => {
    await arm("dc1-s02", "52:54:00:01:01:12");
    const nb = await site.client().get<NetbootConfig>(ROUTES.netboot("52:54:00:01:01:12"));
    const auth = { authorization: `Bearer ${nb.token}` };
    await site.client().post(ROUTES.enroll, { mac: "52:54:00:01:01:12", csrPem: csrFor("dc1-s02") }, auth);
    await rejectsWith(
      site.client().post(ROUTES.enroll, { mac: "52:54:00:01:01:12", csrPem: csrFor("dc1-s02") }, auth),
      403,
      /reused/,
    );
    const alerts = await site
      .client(site.operator)
      .get<{ reason: string; serverId: string }[]>(ROUTES.alerts);
    assert.ok(alerts.some((a) => a.reason === "reused" && a.serverId === "dc1-s02"));
    assert.ok(!JSON.stringify(alerts).includes(nb.token));
  });

  it("refuses a token presented from another MAC and records an alert", async () => {
    await arm("dc1-s03", "52:54:00:01:01:13");
    const nb = await site.client().get<NetbootConfig>(ROUTES.netboot("52:54:00:01:01:13"));
    await rejectsWith(
      site
        .client()
        .post(
          ROUTES.enroll,
          { mac: "52:54:00:01:01:99", csrPem: csrFor("dc1-s03") },
          { authorization: `Bearer ${nb.token}` },
        ),
      403,
      /wrong-mac/,
    );
    const alerts = await site.client(site.operator).get<{ reason: string; mac: string }[]>(ROUTES.alerts);
    assert.ok(alerts.some((a) => a.reason === "wrong-mac" && a.mac === "52:54:00:01:01:99"));
  });

  it("refuses a CSR asking for another server's name", async () => {
    await arm("dc1-c01", "52:54:00:01:01:14");
    const nb = await site.client().get<NetbootConfig>(ROUTES.netboot("52:54:00:01:01:14"));
    await rejectsWith(
      site
        .client()
        .post(
          ROUTES.enroll,
          { mac: "52:54:00:01:01:14", csrPem: csrFor("dc1-s01") },
          { authorization: `Bearer ${nb.token}` },
        ),
      400,
      /CSR refused/,
    );
  });

  it("refuses the image without a live token", async () => {
    await rejectsWith(site.client().getBuffer(ROUTES.image(site.config.imageSha256)), 403);
    await rejectsWith(
      site.client().getBuffer(ROUTES.image(site.config.imageSha256), { authorization: "Bearer nope" }),
      403,
    );
  });

  it("refuses admin routes without a client certificate, with a foreign CA, or for a non-operator", async () => {
    await rejectsWith(site.client().get(ROUTES.alerts), 401, /client certificate/);
    await rejectsWith(site.client(site.foreignOperator).get(ROUTES.alerts), 401);
    await rejectsWith(site.client(site.issue("user", "mallory")).get(ROUTES.alerts), 403, /not an operator/);
    await rejectsWith(
      site
        .client(site.issue("computer", "dc1-s01"))
        .post(ROUTES.arm, { serverId: "x", hostname: "x.dc1.zeroroot.test", mac: MAC }),
      403,
    );
  });

  it("accepts readiness only from an enrolled computer's certificate", async () => {
    const report = { agentUser: "zr-agent", agentUid: 2000, listeningTcpPorts: [], bootId: "b" };
    await site.client(site.issue("computer", "dc1-s01")).post(ROUTES.ready, report);
    assert.equal(
      (await site.client(site.operator).get<{ phase: string }>(ROUTES.server("dc1-s01"))).phase,
      "ready",
    );
    await rejectsWith(site.client(site.issue("computer", "dc1-s77")).post(ROUTES.ready, report), 403);
    await rejectsWith(site.client().post(ROUTES.ready, report), 401);
  });
});
