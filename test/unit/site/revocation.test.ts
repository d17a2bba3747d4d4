/** The site loads the CRLs its config names, re-reads them when they change, and publishes its own CA's. */
import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { request } from "node:https";
import { revokeSiteCertificate } from "../../../agents/site/crl";
import { authorisePeer } from "../../../lib/site";
import { fromPemAll } from "../../../lib/pki/asn";
import { issueCrl, parseCrl } from "../../../lib/pki";
import { ROUTES } from "../../../lib/site";
import { identityFrom, startSite, type SiteFixture } from "../../helpers/site-fixture";
import { rejectsWith } from "./helpers";

const REPORT = { agentUser: "zr-agent", agentUid: 2000, listeningTcpPorts: [], bootId: "b" };
const revoked = (serial: string) => [{ serial, reason: "keyCompromise" as const, revokedAt: new Date() }];

describe("site services: revocation", () => {
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

  it("refuses a revoked operator as soon as the CRL file is replaced, with no restart", async () => {
    const alice = identityFrom(site.cas.dc1, "user", "operator");
    await site.client(alice).get(ROUTES.alerts);
    site.publishCrl("dc1", 2, revoked(alice.serial));
    await rejectsWith(site.client(alice).get(ROUTES.alerts), 401, /revoked/);
    await site.client(site.operator).get(ROUTES.alerts);
  });

  it("keeps the last good CRL when its file is replaced by garbage, and says so in the log", async () => {
    const bob = identityFrom(site.cas.dc1, "user", "operator");
    site.publishCrl("dc1", 3, revoked(bob.serial));
    await rejectsWith(site.client(bob).get(ROUTES.alerts), 401, /revoked/);
    writeFileSync(site.crlPaths.dc1, "-----BEGIN X509 CRL-----\nnot a crl\n-----END X509 CRL-----\n");
    await rejectsWith(site.client(bob).get(ROUTES.alerts), 401, /revoked/);
    assert.ok(
      site.logs.some((l) => /CRL file .*dc1\.crl does not parse.*keeping CRL number 3/.test(l)),
      site.logs.join("\n"),
    );
  });

  it("reports a stale CRL in the log and still applies it", async () => {
    const carol = identityFrom(site.cas.dc1, "user", "operator");
    site.publishCrl("dc1", 4, revoked(carol.serial), new Date(Date.now() - 3_600_000));
    await rejectsWith(site.client(carol).get(ROUTES.alerts), 401, /revoked/);
    await site.client(site.operator).get(ROUTES.alerts);
    assert.ok(
      site.logs.some((l) => /^STALE CRL .*dc1\.crl \(number 4\)/.test(l)),
      site.logs.join("\n"),
    );
    site.publishCrl("dc1", 5, []);
  });

  it("lets the newest CRL of an issuer decide, whichever order the files come in", () => {
    const dave = identityFrom(site.cas.dc1, "user", "operator");
    const older = issueCrl(site.cas.dc1, [], { number: 10 });
    const newer = issueCrl(site.cas.dc1, revoked(dave.serial), { number: 11 });
    const root = issueCrl(site.cas.root, [], { number: 1 });
    for (const crls of [
      [older, newer, root],
      [newer, older, root],
    ]) {
      const d = authorisePeer(
        {
          chain: fromPemAll(dave.certificateChainPem, "CERTIFICATE"),
          rootPem: site.rootPem,
          crls,
          strictCrl: false,
        },
        { route: "operator", operators: [{ dataCenter: "dc1", kind: "user", name: "operator" }] },
      );
      assert.ok(!d.ok && d.status === 401 && /revoked/.test(d.message), JSON.stringify(d));
    }
  });

  it("publishes its own CA's CRL on GET /crl and refuses a computer it revoked on the next request", async () => {
    const s01 = identityFrom(site.identity.ca, "computer", "dc1-s01");
    await site.client(s01).post(ROUTES.ready, REPORT);
    revokeSiteCertificate(site.config, site.identity.ca, s01.serial, "keyCompromise");
    await rejectsWith(site.client(s01).post(ROUTES.ready, REPORT), 401, /revoked: keyCompromise/);
    const pem = await new Promise<Buffer>((resolve, reject) =>
      request(
        `${site.url}${ROUTES.crl}`,
        { ca: site.rootPem, servername: site.serverName, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c)).on("end", () => resolve(Buffer.concat(chunks)));
        },
      )
        .on("error", reject)
        .end(),
    );
    const crl = parseCrl(pem);
    assert.ok(crl.issuerDer.equals(site.identity.ca.info.subjectDer));
    assert.ok(crl.revoked.has(s01.serial.replace(/^0+/, "")), "the revoked serial is listed");
    assert.ok((crl.number ?? 0) >= 2, "a new CRL number after the revocation");
  });
});
