import { strict as assert } from "node:assert";
import {
  FRESHNESS_LIMITS,
  signFreshness,
  timestampName,
  verifyFreshness,
  verifyFreshnessText,
  type FreshnessArgs,
  type FreshnessVerification,
  type SignedFreshness,
  type VerifyFreshnessOptions,
} from "../../../lib/desired-state";
import { freshnessDecision } from "../../../lib/agent/freshness";
import * as pki from "../../../lib/pki";
import { signCanonical } from "../../../lib/release";
import { identityOf, issuingCa, leaf, type Party } from "../release/fixtures";

const DIGEST = `sha256:${"d".repeat(64)}`;
const OTHER_DIGEST = `sha256:${"e".repeat(64)}`;
const HOUR = 3_600_000;

describe("desired-state freshness (the data center's timestamp statement a node needs before applying)", function () {
  this.timeout(30_000);
  let rootPem: string;
  let node: pki.Identity;
  let stamp: Party;
  const p: Record<string, Party> = {};
  let crlRevokingStamp: string;

  before(() => {
    const root = pki.createRootCa({ commonName: "zeroroot root CA" });
    rootPem = root.certificatePem;
    // the sites' online CAs, limited to computer and service as a site's CA is
    const dc1 = issuingCa(root.ca, "dc1", ["computer", "service"]);
    const dc2 = issuingCa(root.ca, "dc2", ["computer", "service"]);
    const offline = issuingCa(root.ca, "dc1");
    const foreign = issuingCa(pki.createRootCa({ commonName: "zeroroot root CA" }).ca, "dc1");
    stamp = leaf(dc1, "service", timestampName("dc1.zeroroot.example"));
    const computer = leaf(dc1, "computer", "dc1-s01");
    node = identityOf({ rootPem } as never, computer);
    p.dc2Stamp = leaf(dc2, "service", timestampName("dc2.zeroroot.example"));
    p.siteTls = leaf(dc1, "service", "site.dc1.zeroroot.example");
    p.lookalike = leaf(dc1, "service", "timestamp.dc1.x.dc1.zeroroot.example");
    p.computer = computer;
    p.software = leaf(offline, "software", "control-plane-dc1");
    p.foreign = leaf(foreign, "service", timestampName("dc1.zeroroot.example"));
    p.expiredStamp = leaf(
      dc1,
      "service",
      timestampName("dc1.zeroroot.example"),
      new Date(Date.now() - 3 * 86_400_000),
      1,
    );
    p.revokedStamp = leaf(dc1, "service", timestampName("dc1.zeroroot.example"));
    crlRevokingStamp = pki.issueCrl(
      dc1,
      [{ serial: p.revokedStamp.serial, reason: "keyCompromise", revokedAt: new Date() }],
      { number: 3 },
    );
  });

  const args = (over: Partial<FreshnessArgs> = {}): FreshnessArgs => ({
    computerId: "dc1-s01",
    dataCenter: "dc1",
    version: 7,
    digest: DIGEST,
    lifetimeSeconds: 3600,
    ...over,
  });
  const opts = (over: Partial<VerifyFreshnessOptions> = {}): VerifyFreshnessOptions => ({
    root: rootPem,
    node,
    target: { computerId: "dc1-s01", version: 7, digest: DIGEST },
    ...over,
  });
  const sign = (over: Partial<FreshnessArgs> = {}, signer: Party = stamp) =>
    signFreshness(args(over), signer);
  const reason = (r: FreshnessVerification) => (r.ok ? "accepted" : r.reason);
  /** A statement signed as given, bypassing signFreshness's own checks (as a hostile signer would). */
  const raw = (edit: (s: SignedFreshness["statement"]) => object, signer: Party = stamp) => {
    const statement = edit(sign().statement);
    return { statement, signature: signCanonical(statement, signer) };
  };

  it("accepts a current statement from its own data center's timestamp service", () => {
    const r = verifyFreshnessText(JSON.stringify(sign()), opts());
    assert.ok(r.ok, r.ok ? "" : r.detail);
    assert.equal(r.signer, "dc1/service/timestamp.dc1.zeroroot.example");
  });

  // The node's side of every row: which statements let a document count as current.
  const table: [string, () => [unknown, Partial<VerifyFreshnessOptions>], string][] = [
    ["refuses when there is no statement", () => [undefined, {}], "missing"],
    [
      "refuses an expired statement (the timestamp service stopped renewing)",
      () => [sign({ now: new Date(Date.now() - 2 * HOUR) }), {}],
      "expired",
    ],
    [
      "refuses a statement signed by another data center's timestamp service",
      () => [sign({}, p.dc2Stamp), {}],
      "wrong-data-center",
    ],
    [
      "refuses a statement signed by its own site's TLS identity (a service, not the timestamp one)",
      () => [sign({}, p.siteTls), {}],
      "wrong-signer",
    ],
    [
      "refuses a look-alike name inside the zone (timestamp.dc1.x.dc1.<domain>)",
      () => [sign({}, p.lookalike), {}],
      "wrong-signer",
    ],
    ["refuses a statement signed by a computer certificate", () => [sign({}, p.computer), {}], "wrong-kind"],
    [
      "refuses a statement signed by a software signer (its key usage is code signing)",
      () => [sign({}, p.software), {}],
      "wrong-eku",
    ],
    [
      "refuses a timestamp certificate of a foreign root",
      () => [sign({}, p.foreign), {}],
      "untrusted-signer",
    ],
    ["refuses an expired timestamp certificate", () => [sign({}, p.expiredStamp), {}], "signer-expired"],
    [
      "refuses a revoked timestamp certificate",
      () => [sign({}, p.revokedStamp), { crls: [crlRevokingStamp] }],
      "revoked",
    ],
    [
      "refuses a statement for another computer",
      () => [sign({ computerId: "dc1-s02" }), {}],
      "wrong-computer",
    ],
    [
      "refuses a statement naming another data center for this computer",
      () => [raw((s) => ({ ...s, dataCenter: "dc2" })), {}],
      "wrong-computer",
    ],
    [
      "refuses a replayed statement of a superseded version",
      () => [sign({ version: 6 }), {}],
      "wrong-version",
    ],
    [
      "refuses a statement for the same version with another content",
      () => [sign({ digest: OTHER_DIGEST }), {}],
      "wrong-digest",
    ],
    [
      "refuses a replayed older statement, still unexpired, issued before the last one accepted",
      () => [
        sign({ now: new Date(Date.now() - 10 * 60_000) }),
        { lastIssuedAt: new Date(Date.now() - 60_000).toISOString() },
      ],
      "replayed",
    ],
    [
      "refuses a statement valid for longer than the short period",
      () => [
        raw((s) => ({ ...s, expiresAt: new Date(Date.parse(s.issuedAt) + 2 * 86_400_000).toISOString() })),
        {},
      ],
      "lifetime-too-long",
    ],
    [
      "refuses a statement issued in the node's future",
      () => [sign({ now: new Date(Date.now() + HOUR) }), {}],
      "not-yet-valid",
    ],
    [
      "refuses a statement changed after signing",
      () => [
        { ...sign(), statement: { ...sign().statement, version: 8 } },
        { target: { computerId: "dc1-s01", version: 8, digest: DIGEST } },
      ],
      "bad-signature",
    ],
    ["refuses an unsigned statement", () => [{ statement: sign().statement }, {}], "unsigned"],
    [
      "refuses a statement with an unknown field",
      () => [raw((s) => ({ ...s, instances: [] })), {}],
      "malformed",
    ],
    [
      "refuses a statement of another kind",
      () => [raw((s) => ({ ...s, kind: "zeroroot.desired-state/v1" })), {}],
      "malformed",
    ],
    ["refuses something that is not a statement at all", () => [[1, 2, 3], {}], "malformed"],
  ];
  for (const [title, make, expected] of table)
    it(title, () => {
      const [signed, over] = make();
      const text = signed === undefined ? undefined : JSON.stringify(signed);
      assert.equal(reason(verifyFreshnessText(text, opts(over))), expected);
    });

  it("refuses an oversized or deeply nested statement before parsing it", () => {
    const big = JSON.stringify({ ...sign(), pad: "x".repeat(FRESHNESS_LIMITS.statementBytes) });
    assert.equal(reason(verifyFreshnessText(big, opts())), "too-large");
    assert.equal(reason(verifyFreshnessText(`${"[".repeat(50)}${"]".repeat(50)}`, opts())), "too-deep");
  });

  it("refuses to sign a statement longer-lived than the short period, or for no time", () => {
    assert.throws(() => sign({ lifetimeSeconds: FRESHNESS_LIMITS.lifetimeSeconds + 1 }), /from 1 to 86400/);
    assert.throws(() => sign({ lifetimeSeconds: 0 }), /from 1 to 86400/);
    assert.throws(() => sign({ digest: "md5:abc" }), /statement\.digest/);
  });

  it("renews at a quarter of the lifetime: a site may miss one renewal before a node sees expiry", () => {
    assert.ok(FRESHNESS_LIMITS.renewFraction < 0.5);
    assert.equal(FRESHNESS_LIMITS.lifetimeSeconds, 86_400);
  });

  it("is not fooled by a valid statement passed through verifyFreshness as an object", () => {
    assert.equal(reason(verifyFreshness(sign(), opts())), "accepted");
    assert.equal(reason(verifyFreshness(null, opts())), "malformed");
  });
});

describe("the node's freshness decision (apply, hold or keep running, and what it alerts)", () => {
  const fresh: FreshnessVerification = {
    ok: true,
    signer: "dc1/service/timestamp.dc1.zeroroot.example",
    statement: {
      kind: "zeroroot.desired-state-freshness/v1",
      computerId: "dc1-s01",
      dataCenter: "dc1",
      version: 7,
      digest: DIGEST,
      issuedAt: "2026-01-01T00:00:00.000Z",
      expiresAt: "2026-01-02T00:00:00.000Z",
    },
  };
  const refused = (reason: string): FreshnessVerification =>
    ({ ok: false, reason, detail: `refused: ${reason}` }) as FreshnessVerification;

  const rows: [string, boolean, FreshnessVerification, string, string | undefined][] = [
    ["applies a new document with a fresh statement", false, fresh, "apply", undefined],
    ["keeps running an unchanged document with a fresh statement", true, fresh, "keep", undefined],
    [
      "holds a new document without a statement (applies nothing new)",
      false,
      refused("missing"),
      "hold",
      "desired-state-not-fresh",
    ],
    [
      "holds a new document whose statement expired",
      false,
      refused("expired"),
      "hold",
      "desired-state-not-fresh",
    ],
    [
      "holds a new document vouched for by another data center",
      false,
      refused("wrong-data-center"),
      "hold",
      "desired-state-not-fresh",
    ],
    [
      "holds a new document vouched for by the wrong kind of certificate",
      false,
      refused("wrong-kind"),
      "hold",
      "desired-state-not-fresh",
    ],
    [
      "holds a new document whose statement names an older version (replay)",
      false,
      refused("wrong-version"),
      "hold",
      "desired-state-not-fresh",
    ],
    [
      "holds a new document whose statement names another computer",
      false,
      refused("wrong-computer"),
      "hold",
      "desired-state-not-fresh",
    ],
    [
      "holds a new document whose statement names another digest",
      false,
      refused("wrong-digest"),
      "hold",
      "desired-state-not-fresh",
    ],
    [
      "holds a new document with a replayed older statement",
      false,
      refused("replayed"),
      "hold",
      "desired-state-not-fresh",
    ],
    [
      "keeps running but alerts when the applied document's statement expired (frozen control plane)",
      true,
      refused("expired"),
      "keep",
      "desired-state-stale",
    ],
    [
      "keeps running but alerts when the applied document's statement disappeared",
      true,
      refused("missing"),
      "keep",
      "desired-state-stale",
    ],
  ];
  for (const [title, unchanged, verification, action, alert] of rows)
    it(title, () => {
      const d = freshnessDecision({ version: 7, unchanged }, verification);
      assert.equal(d.action, action);
      assert.equal(d.alert?.kind, alert);
      if (d.alert) assert.match(d.alert.detail, new RegExp(verification.ok ? "" : verification.reason));
    });

  it("raises a hold alert once per version and reason (dedupe), critical for a forged signer", () => {
    const a = freshnessDecision({ version: 7, unchanged: false }, refused("wrong-data-center")).alert;
    const b = freshnessDecision({ version: 7, unchanged: false }, refused("expired")).alert;
    assert.notEqual(a?.dedupe, b?.dedupe);
    assert.equal(a?.severity, "critical");
    assert.equal(b?.severity, "warning");
  });
});
