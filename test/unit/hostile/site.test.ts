/**
 * Hostile requests to the site services, over real HTTPS with real certificates: each gets its 4xx,
 * none a 500, the server keeps serving, and no log line can be forged by what a request carries.
 */
import { strict as assert } from "node:assert";
import { ROUTES, type TlsIdentity } from "../../../lib/site";
import { identityFrom, startSite, type SiteFixture } from "../../helpers/site-fixture";
import { raw } from "../site/helpers";
import { CASES, MAC } from "./site-cases";

describe("hostile requests to the site services", () => {
  let site: SiteFixture;
  let computer: TlsIdentity;
  const seen: number[] = [];
  before(async () => {
    site = await startSite();
    site.registry.upsert({
      serverId: "dc1-s01",
      hostname: "s01.dc1.zeroroot.test",
      mac: MAC,
      phase: "enrolled",
    });
    computer = site.issue("computer", "dc1-s01");
  });
  after(() => site.close());

  it("holds at least 40 cases", () => assert.ok(CASES.length >= 40, String(CASES.length)));

  for (const c of CASES)
    it(`answers ${c.status} to ${c.name}`, async () => {
      const identity =
        c.who === "operator"
          ? site.operator
          : c.who === "computer"
            ? computer
            : typeof c.who === "function"
              ? c.who(site)
              : undefined;
      const path = typeof c.path === "function" ? c.path(site) : c.path;
      const r = await raw(site, c.method, path, { headers: c.headers, body: c.body, identity });
      seen.push(r.status);
      assert.equal(r.status, c.status, r.body);
      assert.ok(JSON.parse(r.body).error, "a refusal says why");
    });

  it("refuses a revoked operator", async () => {
    const revoked = identityFrom(site.cas.dc1, "user", "operator");
    site.publishCrl("dc1", 2, [{ serial: revoked.serial, reason: "keyCompromise", revokedAt: new Date() }]);
    assert.equal((await raw(site, "GET", ROUTES.alerts, { identity: revoked })).status, 401);
  });

  it("answered no 500, still serves, and wrote no log line a request could forge", async () => {
    assert.ok(!seen.includes(500));
    assert.equal((await raw(site, "GET", ROUTES.crl)).status, 200);
    assert.ok(
      site.logs.every((l) => !l.includes("\n") && !l.includes("\r")),
      site.logs.join("\n"),
    );
    assert.ok(!site.logs.some((l) => l.startsWith("ALERT forged")));
    assert.ok(!site.logs.some((l) => l.startsWith("internal error")), site.logs.join("\n"));
  });
});
