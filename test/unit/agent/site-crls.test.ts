/**
 * The node's CRLs from its site: the real site server publishes `GET /crls`, the node's SiteCrls
 * fetches, screens (lib/agent/crl-screen), keeps them on disk, and release verification uses them.
 */
import { strict as assert } from "node:assert";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkRelease, knownCas, screenCrls } from "../../../lib/agent";
import { createCsr, generateKeyPair, issueCrl, issueFromCsr, parseCrl } from "../../../lib/pki";
import { manifestDigest, memoryFileSource, parseAuthorisationList, signRelease } from "../../../lib/release";
import { SiteClient, SiteError } from "../../../lib/site";
import type { Alert } from "../../../agents/node/alerts";
import { SiteCrls, type CrlSource } from "../../../agents/node/crls";
import { startSite, type SiteFixture } from "../../helpers/site-fixture";
import { baseManifest, FILES } from "../release/fixtures";

describe("agent: the site's CRLs reach release verification", () => {
  let site: SiteFixture;
  let dir: string;
  let computer: { certificateChainPem: string; privateKeyPem: string };
  let alice: {
    privateKey: ReturnType<typeof generateKeyPair>["privateKey"];
    certificatePem: string;
    chainPem: string;
    serial: string;
  };
  let alerts: Omit<Alert, "at" | "computerId">[];

  before(async () => {
    site = await startSite();
    computer = site.issue("computer", "dc1-s01");
    const keys = generateKeyPair();
    const issued = issueFromCsr(
      site.cas.dc1,
      "software",
      createCsr({ commonName: "alice" }, keys.privateKey),
    );
    alice = {
      privateKey: keys.privateKey,
      certificatePem: issued.certificatePem,
      chainPem: site.cas.dc1.certificatePem,
      serial: issued.serial,
    };
  });
  after(() => site.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "zr-crls-"));
    alerts = [];
    site.publishCrl("root", 1, []);
    site.publishCrl("dc1", 1, []);
    site.publishCrl("dc2", 1, []);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const crlsOf = (source: CrlSource | undefined) =>
    new SiteCrls({
      stateDir: dir,
      cas: knownCas(site.rootPem, computer.certificateChainPem),
      fixed: [],
      site: source,
      alert: (_k, a) => alerts.push(a),
      log: () => undefined,
    });
  const release = () => signRelease(baseManifest(), alice);
  const check = (crls: readonly string[] | undefined) => {
    const m = baseManifest();
    return checkRelease({
      document: JSON.stringify(release()),
      ref: { name: m.name, version: m.version, manifestDigest: manifestDigest(m) },
      trust: {
        root: site.rootPem,
        authorisation: parseAuthorisationList({
          signers: [{ identity: "dc1/software/alice", releases: ["mariadb-*"] }],
        }),
        crls,
      },
      files: memoryFileSource(FILES),
      packages: new Map([["galera-4", "26.4.14-1"]]),
      now: new Date(),
    });
  };
  const revokeAlice = (number: number) =>
    site.publishCrl("dc1", number, [
      { serial: alice.serial, reason: "keyCompromise", revokedAt: new Date() },
    ]);
  /** A CRL naming the root, signed with the foreign CA's key: what a compromised site could serve. */
  const forgedRootCrl = (revoked: string[]) =>
    issueCrl(
      { ...site.cas.root, privateKey: site.cas.foreign.privateKey },
      revoked.map((serial) => ({ serial, reason: "keyCompromise" as const, revokedAt: new Date() })),
      { number: 99 },
    );

  it("serves every CRL the site holds at GET /crls, unauthenticated, and keeps GET /crl", async () => {
    const crls = await site.client().crls();
    const issuers = crls.map((c) => parseCrl(c).issuerDer.toString("hex")).sort();
    const expected = [site.cas.root, site.cas.dc1, site.cas.dc2, site.identity.ca]
      .map((ca) => ca.info.subjectDer.toString("hex"))
      .sort();
    assert.deepEqual(issuers, expected);
    const own = await site.client().getBuffer("/crl");
    assert.ok(parseCrl(own).issuerDer.equals(site.identity.ca.info.subjectDer));
  });

  it("refuses a revoked software signer's release once the site publishes the CRL", async () => {
    const crls = crlsOf(site.client(computer));
    await crls.refresh();
    assert.equal(check(crls.current()).ok, true, JSON.stringify(check(crls.current())));
    revokeAlice(2);
    await crls.refresh();
    const r = check(crls.current());
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, "revoked", JSON.stringify(r));
    assert.deepEqual(alerts, []);
  });

  it("ignores a forged CRL the site serves, alerts, and goes on verifying with the genuine ones", async () => {
    // The site serves whatever its config's files hold: dc2's file now holds a forged root CRL.
    site.publishCrl("dc2", 1, []);
    const forged = forgedRootCrl([alice.serial]);
    writeFileSync(site.crlPaths.dc2, forged);
    await new Promise((r) => setTimeout(r, 20)); // a new mtime, so that the site reads the file again
    const served = await site.client().crls();
    // Handed over unscreened, the forged CRL would refuse every chain under the root:
    const unscreened = check(served);
    assert.equal(!unscreened.ok && unscreened.reason, "crl-unusable", JSON.stringify(unscreened));
    assert.match(!unscreened.ok ? unscreened.detail : "", /crl-bad-signature/);
    const crls = crlsOf(site.client(computer));
    await crls.refresh();
    assert.equal(check(crls.current()).ok, true, JSON.stringify(check(crls.current())));
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].kind, "crl-refused");
    assert.match(alerts[0].detail, /not signed by it \(forged\)/);
    // and a revocation published afterwards still applies
    revokeAlice(3);
    await crls.refresh();
    const r = check(crls.current());
    assert.equal(!r.ok && r.reason, "revoked");
  });

  it("ignores garbage from a compromised site, alerts, and keeps the CRLs it held", async () => {
    const crls = crlsOf(site.client(computer));
    revokeAlice(2);
    await crls.refresh();
    const hostile: string[] = [
      "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
      "not a CRL at all",
      "\u0000".repeat(100),
      forgedRootCrl([]),
    ];
    const evil = crlsOf({ crls: () => Promise.resolve(hostile) });
    await evil.refresh();
    assert.equal(alerts.length, hostile.length, JSON.stringify(alerts));
    const r = check(evil.current());
    assert.equal(!r.ok && r.reason, "revoked", JSON.stringify(r));
  });

  it("does not let the site roll a revocation back with an older CRL", async () => {
    const crls = crlsOf(site.client(computer));
    revokeAlice(5);
    await crls.refresh();
    site.publishCrl("dc1", 4, []);
    await new Promise((r) => setTimeout(r, 20));
    await crls.refresh();
    const r = check(crls.current());
    assert.equal(!r.ok && r.reason, "revoked", JSON.stringify(r));
  });

  it("starts offline with the bundle it stored, screened again as read back", async () => {
    const online = crlsOf(site.client(computer));
    revokeAlice(2);
    await online.refresh();
    const unreachable: CrlSource = { crls: () => Promise.reject(new Error("connect ECONNREFUSED")) };
    const offline = crlsOf(unreachable);
    await offline.refresh();
    const r = check(offline.current());
    assert.equal(!r.ok && r.reason, "revoked", JSON.stringify(r));
    // A forged CRL slipped into the stored file is dropped with an alert when read back.
    appendFileSync(online.file, forgedRootCrl([]));
    const again = crlsOf(unreachable);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].kind, "crl-refused");
    const kept = check(again.current());
    assert.equal(!kept.ok && kept.reason, "revoked", JSON.stringify(kept));
    assert.match(readFileSync(online.file, "utf8"), /BEGIN X509 CRL/);
  });

  it("fetches again after a refusal for want of a usable CRL, at most once a minute", async () => {
    let fetches = 0;
    let now = 1_000_000;
    const counting = new SiteCrls({
      stateDir: dir,
      cas: knownCas(site.rootPem),
      fixed: [],
      site: { crls: () => (fetches++, Promise.resolve([])) },
      alert: () => undefined,
      log: () => undefined,
      now: () => now,
    });
    await counting.refresh();
    counting.failed("crl-unusable");
    assert.equal(fetches, 1, "within a minute of the last fetch");
    now += 60_000;
    counting.failed("untrusted-signer");
    assert.equal(fetches, 1, "a refusal a CRL cannot cure");
    counting.failed("crl-unusable");
    await counting.refresh();
    assert.equal(fetches, 2);
  });

  it("has no CRL at all (no revocation check) with no site, no file and nothing stored", () => {
    assert.equal(crlsOf(undefined).current(), undefined);
  });
});

describe("agent: screening CRLs before verification", () => {
  it("keeps the newest CRL of each issuer and drops what does not parse", async () => {
    const site = await startSite();
    try {
      const older = issueCrl(site.cas.dc1, [], { number: 1 });
      const newer = issueCrl(site.cas.dc1, [], { number: 2 });
      const s = screenCrls([newer, "garbage", older], knownCas(site.rootPem));
      assert.equal(s.crls.length, 1);
      assert.equal(parseCrl(s.crls[0]).number, 2);
      assert.deepEqual(
        s.dropped.map((d) => d.index),
        [1],
      );
    } finally {
      await site.close();
    }
  });
});

describe("agent: reading the site's CRL bundle (SiteClient.crls)", () => {
  let site: SiteFixture;
  before(async () => (site = await startSite()));
  after(() => site.close());

  /** A server with the site's own TLS identity answering `body`: a compromised site. */
  async function hostileSite(body: string | Buffer): Promise<{ client: SiteClient; close: () => void }> {
    const server = createServer({ key: site.identity.tls.key, cert: site.identity.tls.cert }, (_q, res) =>
      res.end(body),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const client = new SiteClient({
      url: `https://127.0.0.1:${port}`,
      trust: site.rootPem,
      serverName: site.serverName,
    });
    return { client, close: () => server.close() };
  }

  for (const [what, body, error] of [
    ["not JSON", "<html>", /not JSON/],
    ["a list of numbers", JSON.stringify({ crls: [1, 2] }), /not a CRL bundle \(crls\.0: /],
    ["an unknown field", JSON.stringify({ crls: [], more: 1 }), /not a CRL bundle/],
    ["66 entries", JSON.stringify({ crls: Array(66).fill("x") }), /at most 65 CRLs/],
    ["17 MiB", Buffer.alloc(17 * 1024 * 1024, 0x20), /over 16777216 bytes/],
  ] as const) {
    it(`refuses an answer that is ${what}, with the site and the reason`, async () => {
      const h = await hostileSite(body);
      try {
        await assert.rejects(h.client.crls(), (e: Error) => {
          assert.ok(e instanceof SiteError, String(e));
          assert.match(e.message, /GET https:\/\/127\.0\.0\.1:\d+\/crls/);
          assert.match(e.message, error);
          return true;
        });
      } finally {
        h.close();
      }
    });
  }
});
