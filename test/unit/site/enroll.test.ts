/** Enrollment: a refused CSR keeps the token for a retry; one token still enrolls once, even concurrently. */
import { strict as assert } from "node:assert";
import { ROUTES, type NetbootConfig } from "../../../lib/site";
import { startSite, type SiteFixture } from "../../helpers/site-fixture";
import { csrFor, rejectsWith } from "./helpers";

describe("site services: enrollment tokens and refused CSRs", () => {
  let site: SiteFixture;
  before(async () => (site = await startSite()));
  after(() => site.close());

  const armAndNetboot = async (serverId: string, mac: string) => {
    await site
      .client(site.operator)
      .post(ROUTES.arm, { serverId, hostname: `${serverId.slice(4)}.dc1.zeroroot.test`, mac });
    return site.client().get<NetbootConfig>(ROUTES.netboot(mac));
  };
  const enroll = (mac: string, csrPem: string, token: string) =>
    site.client().post(ROUTES.enroll, { mac, csrPem }, { authorization: `Bearer ${token}` });

  it("keeps the token live after a refused CSR, so the corrected retry enrolls", async () => {
    const mac = "52:54:00:01:02:01";
    const nb = await armAndNetboot("dc1-e01", mac);
    await rejectsWith(enroll(mac, csrFor("dc1-other"), nb.token), 400, /CSR refused/);
    await rejectsWith(
      enroll(mac, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", nb.token),
      400,
      /CSR refused/,
    );
    await enroll(mac, csrFor("dc1-e01"), nb.token);
    await rejectsWith(enroll(mac, csrFor("dc1-e01"), nb.token), 403, /reused/);
  });

  it("enrolls once when two requests race with the same token", async () => {
    const mac = "52:54:00:01:02:02";
    const nb = await armAndNetboot("dc1-e02", mac);
    const results = await Promise.allSettled([
      enroll(mac, csrFor("dc1-e02"), nb.token),
      enroll(mac, csrFor("dc1-e02"), nb.token),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1, JSON.stringify(results));
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.match(String(refused.reason), /403 enrollment refused: reused/);
  });

  it("still refuses, burns and alerts on a token from the wrong MAC after a refused CSR", async () => {
    const mac = "52:54:00:01:02:03";
    const nb = await armAndNetboot("dc1-e03", mac);
    await rejectsWith(enroll(mac, csrFor("dc1-e99"), nb.token), 400);
    await rejectsWith(enroll("52:54:00:01:02:99", csrFor("dc1-e03"), nb.token), 403, /wrong-mac/);
    await rejectsWith(enroll(mac, csrFor("dc1-e03"), nb.token), 403, /reused/);
    const alerts = await site
      .client(site.operator)
      .get<{ reason: string; mac: string; serverId: string }[]>(ROUTES.alerts);
    assert.ok(
      alerts.some(
        (a) => a.reason === "wrong-mac" && a.mac === "52:54:00:01:02:99" && a.serverId === "dc1-e03",
      ),
    );
  });
});
