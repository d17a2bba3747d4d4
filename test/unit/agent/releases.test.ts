import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkRelease } from "../../../lib/agent";
import { createCsr, generateKeyPair, parseCertificate, verifyCertificate } from "../../../lib/pki";
import { manifestDigest, memoryFileSource, parseAuthorisationList, signRelease } from "../../../lib/release";
import { ensureServiceCertificate, tlsFiles } from "../../../agents/node/service-cert";
import { makeHierarchy, baseManifest, FILES, type Hierarchy } from "../release/fixtures";
import { startSite, type SiteFixture } from "../../helpers/site-fixture";

describe("agent: checking a release a desired state names", () => {
  let h: Hierarchy;
  before(() => (h = makeHierarchy()));
  const trust = () => ({
    root: h.rootPem,
    authorisation: parseAuthorisationList({
      signers: [{ identity: "dc1/software/alice", releases: ["mariadb-*"] }],
    }),
  });
  const packages = new Map([["galera-4", "26.4.14-1"]]);
  const files = memoryFileSource(FILES);
  const check = (doc: unknown, over: Partial<Parameters<typeof checkRelease>[0]> = {}) => {
    const m = (doc as { manifest: Parameters<typeof manifestDigest>[0] }).manifest;
    return checkRelease({
      document: JSON.stringify(doc),
      ref: { name: m.name, version: m.version, manifestDigest: manifestDigest(m) },
      trust: trust(),
      files,
      packages,
      now: new Date(),
      ...over,
    });
  };

  it("accepts a release signed by an authorised signer, with its files and packages present", () => {
    const r = check(signRelease(baseManifest(), h.alice));
    assert.equal(r.ok, true, JSON.stringify(r));
  });

  for (const [what, doc, reason] of [
    ["unsigned", () => ({ manifest: baseManifest() }), "unsigned"],
    [
      "signed by a signer not authorised for the name",
      () => signRelease(baseManifest(), h.bob),
      "unauthorised-signer",
    ],
    [
      "tampered after signing",
      () => ({ ...signRelease(baseManifest(), h.alice), manifest: baseManifest({ holdsData: false }) }),
      "bad-signature",
    ],
  ] as const) {
    it(`refuses a release ${what}`, () => {
      const d = doc();
      const r = checkRelease({
        document: JSON.stringify(d),
        ref: { name: "mariadb-galera", version: "10.11.6", manifestDigest: manifestDigest(baseManifest()) },
        trust: trust(),
        files,
        packages,
        now: new Date(),
      });
      assert.equal(!r.ok && r.reason, reason);
    });
  }

  it("refuses a lower version than the last accepted for the name (rollback)", () => {
    const r = check(signRelease(baseManifest(), h.alice), {
      last: { version: "10.11.7", digest: "sha256:x" },
    });
    assert.equal(!r.ok && r.reason, "rollback");
  });

  it("refuses a release whose digest is not the one the desired state names", () => {
    const doc = signRelease(baseManifest(), h.alice);
    const r = check(doc, {
      ref: { name: "mariadb-galera", version: "10.11.6", manifestDigest: `sha256:${"0".repeat(64)}` },
    });
    assert.equal(!r.ok && r.reason, "digest-mismatch");
  });

  it("refuses a release whose package is not installed at the exact version", () => {
    const r = check(signRelease(baseManifest(), h.alice), { packages: new Map([["galera-4", "26.4.13-1"]]) });
    assert.equal(!r.ok && r.reason, "package-missing");
  });

  it("refuses a release with a file changed on disk (by its size, else by its digest)", () => {
    const r = check(signRelease(baseManifest(), h.alice), {
      files: memoryFileSource({ ...FILES, "bin/server": "evil" }),
    });
    assert.equal(!r.ok && r.reason, "file-size-mismatch");
    const same = check(signRelease(baseManifest(), h.alice), {
      files: memoryFileSource({ ...FILES, "bin/server": FILES["bin/server"].toUpperCase() }),
    });
    assert.equal(!same.ok && same.reason, "file-digest-mismatch");
  });

  it("refuses a release that is not published", () => {
    const r = checkRelease({
      document: undefined,
      ref: { name: "x", version: "1.0.0", manifestDigest: "sha256:x" },
      trust: trust(),
      files,
      packages,
      now: new Date(),
    });
    assert.equal(!r.ok && r.reason, "missing");
  });
});

describe("agent: an instance's service certificate by CSR (POST /services/csr)", () => {
  let site: SiteFixture;
  let dir: string;
  before(async () => {
    site = await startSite();
    site.registry.upsert({
      serverId: "dc1-s07",
      hostname: "s07.dc1.zeroroot.test",
      mac: "52:54:00:00:00:07",
      phase: "ready",
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-svc-"));
  });
  after(() => site.close());

  it("makes the key on the node and gets a certificate the site names under the computer's hostname", async () => {
    const client = site.client(site.issue("computer", "dc1-s07"));
    assert.equal(await ensureServiceCertificate(dir, "Web_1", "s07.dc1.zeroroot.test", client), true);
    const f = tlsFiles(dir);
    const cert = parseCertificate(fs.readFileSync(f.cert, "utf8"));
    assert.equal(cert.commonName, "web-1.s07.dc1.zeroroot.test");
    assert.deepEqual(cert.dnsNames, ["web-1.s07.dc1.zeroroot.test"]);
    assert.ok(
      verifyCertificate([fs.readFileSync(f.cert, "utf8"), site.identity.ca.certificatePem], site.rootPem, {
        use: "serverAuth",
      }).ok,
    );
    assert.equal(fs.statSync(f.key).mode & 0o777, 0o640);
    assert.equal(
      await ensureServiceCertificate(dir, "Web_1", "s07.dc1.zeroroot.test", client),
      false,
      "not asked again while valid",
    );
  });

  it("refuses a CSR that asks for a name other than <instance>.<computer hostname>", async () => {
    const csrPem = createCsr(
      { commonName: "etcd.dc1.zeroroot.test", dnsNames: ["etcd.dc1.zeroroot.test"] },
      generateKeyPair().privateKey,
    );
    await assert.rejects(
      site.client(site.issue("computer", "dc1-s07")).post("/services/csr", { instance: "db", csrPem }),
      /400 CSR refused.*only "db\.s07\.dc1\.zeroroot\.test" is authorised/,
    );
  });

  it("refuses a caller without a computer certificate of this site, and an instance name that is no DNS label", async () => {
    const csrPem = createCsr({ commonName: "x" }, generateKeyPair().privateKey);
    await assert.rejects(site.client().post("/services/csr", { instance: "db", csrPem }), /401/);
    await assert.rejects(
      site.client(site.issue("computer", "dc1-s99")).post("/services/csr", { instance: "db", csrPem }),
      /403/,
    );
    await assert.rejects(
      site.client(site.issue("computer", "dc1-s07")).post("/services/csr", { instance: "../x", csrPem }),
      /400/,
    );
  });
});
