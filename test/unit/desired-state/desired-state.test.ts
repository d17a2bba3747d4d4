import { strict as assert } from "node:assert";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import {
  buildDesiredState,
  desiredStateDigest,
  signDesiredState,
  verifyDesiredState,
  DesiredStateError,
  type DesiredStateVerification,
  type SignedDesiredState,
  type VerifyDesiredStateOptions,
} from "../../../lib/desired-state";
import { parseAuthorisationList, signCanonical, type AuthorisationList } from "../../../lib/release";
import type { Identity } from "../../../lib/pki";
import { identityOf, makeHierarchy, type Hierarchy } from "../release/fixtures";

const instance = (n: number, over: Partial<InstanceSpec> = {}): InstanceSpec => ({
  name: `mariadb-${n}`,
  release: { name: "mariadb-galera", version: "10.11.6", manifestDigest: `sha256:${"a".repeat(64)}` },
  partition: { user: `zrp${n}`, uid: 20000 + n },
  programs: [
    {
      name: "mariadbd",
      command: "/srv/r/bin/server --port=3306",
      user: `zrp${n}`,
      uid: 20000 + n,
      capabilities: [],
      noNewPrivileges: true,
    },
  ],
  endpoints: [{ port: 3306, protocol: "tcp", tls: true, requireClientCertificate: true }],
  holdsData: true,
  minimumPersistenceSeconds: 86_400,
  parameters: { clusterName: "galera-1" },
  ...over,
});

describe("desired-state verification (what a node checks before applying its state)", function () {
  this.timeout(30_000);
  let h: Hierarchy;
  let auth: AuthorisationList;
  /** dc1/computer/dc1-s01, read from its own certificate. */
  let node: Identity;

  before(() => {
    h = makeHierarchy();
    node = identityOf(h, h.computer);
    auth = parseAuthorisationList({
      signers: [
        { identity: "dc1/software/control-plane-dc1", desiredState: ["dc1"] },
        { identity: "dc1/software/alice", releases: ["*"] },
        { identity: "dc1/software/alice-old", desiredState: ["*"] },
        { identity: "dc1/software/bob", desiredState: ["*"] },
        { identity: "dc2/software/state-signer-dc2", desiredState: ["dc2"] },
      ],
    });
  });

  const doc = (over: Partial<Parameters<typeof buildDesiredState>[0]> = {}) =>
    buildDesiredState({
      computerId: "dc1-s01",
      dataCenter: "dc1",
      version: 7,
      instances: [instance(1), instance(2)],
      validitySeconds: 3600,
      ...over,
    });
  const sign = (over: Partial<Parameters<typeof buildDesiredState>[0]> = {}, signer = h.controlPlane) =>
    signDesiredState(doc(over), signer);
  const opts = (over: Partial<VerifyDesiredStateOptions> = {}): VerifyDesiredStateOptions => ({
    root: h.rootPem,
    authorisedSigners: auth,
    node,
    lastAppliedVersion: 6,
    ...over,
  });
  const refusal = (r: DesiredStateVerification) => (r.ok ? "accepted" : r.reason);

  it("accepts a newer document signed by the data center's control-plane signer", () => {
    const s = sign();
    const r = verifyDesiredState(JSON.parse(JSON.stringify(s)), opts({ crls: [h.emptyCrl] }));
    assert.ok(r.ok, r.ok ? "" : `${r.reason}: ${r.detail}`);
    assert.equal(r.document.instances.length, 2);
    assert.equal(r.digest, desiredStateDigest(s.document));
    assert.equal(r.unchanged, false);
  });

  it("accepts the first document a node ever sees", () => {
    assert.equal(
      refusal(verifyDesiredState(sign({ version: 1 }), opts({ lastAppliedVersion: undefined }))),
      "accepted",
    );
  });

  it("refuses an unsigned desired state document", () => {
    assert.equal(refusal(verifyDesiredState({ document: doc() }, opts())), "unsigned");
  });

  it("refuses a tampered desired state document (an instance added after signing)", () => {
    const s = JSON.parse(JSON.stringify(sign())) as SignedDesiredState;
    (s.document.instances as InstanceSpec[]).push(instance(3));
    assert.equal(refusal(verifyDesiredState(s, opts())), "bad-signature");
  });

  it("derives the node's identity from its computer certificate", () => {
    assert.deepEqual(node, { dataCenter: "dc1", kind: "computer", name: "dc1-s01" });
  });

  it("refuses a desired state document for another computer", () => {
    assert.equal(refusal(verifyDesiredState(sign({ computerId: "dc1-s02" }), opts())), "wrong-computer");
  });

  it("refuses, at dc1-s01, a document for dc1-s01 with dataCenter dc2 signed by a signer authorised only for dc2", () => {
    const s = sign({ dataCenter: "dc2" }, h.dc2StateSigner);
    const r = verifyDesiredState(s, opts());
    assert.equal(refusal(r), "wrong-data-center");
    assert.match(!r.ok ? r.detail : "", /issued by dc1/);
  });

  it("refuses, at dc1-s01, a document for dc1 signed by a signer authorised only for dc2", () => {
    assert.equal(refusal(verifyDesiredState(sign({}, h.dc2StateSigner), opts())), "unauthorised-signer");
  });

  it("accepts that dc2 signer's document at dc2-s01, whose certificate dc2 issued", () => {
    const s = sign({ computerId: "dc2-s01", dataCenter: "dc2" }, h.dc2StateSigner);
    assert.equal(refusal(verifyDesiredState(s, opts({ node: identityOf(h, h.dc2Computer) }))), "accepted");
  });

  it("refuses a document signed by dc2's alice where dc1/software/alice holds the grant", () => {
    const grant = parseAuthorisationList({
      signers: [{ identity: "dc1/software/alice", desiredState: ["dc1"] }],
    });
    assert.equal(
      refusal(verifyDesiredState(sign({}, h.alice), opts({ authorisedSigners: grant }))),
      "accepted",
    );
    assert.equal(
      refusal(verifyDesiredState(sign({}, h.dc2Alice), opts({ authorisedSigners: grant }))),
      "unauthorised-signer",
    );
  });

  it("refuses a document signed by a computer certificate, or by a software signer minted by a site's online CA", () => {
    assert.equal(refusal(verifyDesiredState(sign({}, h.computer), opts())), "wrong-eku");
    assert.equal(refusal(verifyDesiredState(sign({}, h.mintedByOnlineCa), opts())), "untrusted-signer");
  });

  it("refuses a document valid for longer than 400 days, and refuses to build or sign one", () => {
    assert.throws(() => doc({ validitySeconds: 401 * 86_400 }), /from 1 to 34560000/);
    assert.equal(doc({ validitySeconds: 400 * 86_400 }).version, 7);
    const d = {
      ...doc(),
      expiresAt: new Date(Date.now() + 410 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
    };
    assert.throws(() => signDesiredState(d, h.controlPlane), /at most 34560000 s/);
    const s = { document: d, signature: signCanonical(d, h.controlPlane) };
    assert.equal(refusal(verifyDesiredState(s, opts())), "validity-too-long");
  });

  it("refuses a document signed by a release signer (not authorised for desired state)", () => {
    assert.equal(refusal(verifyDesiredState(sign({}, h.alice), opts())), "unauthorised-signer");
  });

  it("refuses a document naming another data center than the node's certificate, even from an authorised signer", () => {
    assert.equal(refusal(verifyDesiredState(sign({ dataCenter: "dc2" }), opts())), "wrong-data-center");
  });

  it("refuses a document signed by a foreign CA", () => {
    assert.equal(refusal(verifyDesiredState(sign({}, h.foreignAlice), opts())), "untrusted-signer");
  });

  it("refuses a document signed with a service certificate (no codeSigning)", () => {
    assert.equal(refusal(verifyDesiredState(sign({}, h.service), opts())), "wrong-eku");
  });

  it("refuses a document signed by a revoked certificate", () => {
    assert.equal(refusal(verifyDesiredState(sign({}, h.bob), opts({ crls: [h.crlRevokingBob] }))), "revoked");
  });

  it("refuses a document signed by an expired certificate", () => {
    assert.equal(refusal(verifyDesiredState(sign({}, h.expired), opts())), "signer-expired");
  });

  it("refuses an expired desired state document", () => {
    const s = sign({ now: new Date(Date.now() - 7200_000) });
    assert.equal(refusal(verifyDesiredState(s, opts())), "expired");
  });

  it("refuses a document issued in the future beyond the clock skew", () => {
    const s = sign({ now: new Date(Date.now() + 3600_000) });
    assert.equal(refusal(verifyDesiredState(s, opts())), "not-yet-valid");
    assert.equal(refusal(verifyDesiredState(s, opts({ maxClockSkewSeconds: 7200 }))), "accepted");
  });

  it("refuses a document older than the last applied (rollback)", () => {
    assert.equal(refusal(verifyDesiredState(sign({ version: 5 }), opts())), "rollback");
  });

  it("accepts the last applied document again as unchanged, but refuses the same version with other content", () => {
    const s = sign({ version: 6 });
    const digest = desiredStateDigest(s.document);
    const again = verifyDesiredState(s, opts({ lastAppliedDigest: digest }));
    assert.ok(again.ok && again.unchanged);
    const other = sign({ version: 6, instances: [instance(1)] });
    assert.equal(refusal(verifyDesiredState(other, opts({ lastAppliedDigest: digest }))), "version-reused");
    assert.equal(
      refusal(verifyDesiredState(s, opts())),
      "version-reused",
      "without the digest, the same version is refused",
    );
  });

  it("refuses to sign a document whose instance runs as root", () => {
    const bad = { ...doc(), instances: [instance(1, { partition: { user: "root", uid: 0 } })] };
    assert.throws(() => signDesiredState(bad, h.controlPlane), DesiredStateError);
  });

  it("refuses a correctly signed document whose instance runs as root, as malformed", () => {
    const bad = { ...doc(), instances: [instance(1, { partition: { user: "root", uid: 0 } })] };
    const s = { document: bad, signature: signCanonical(bad, h.controlPlane) };
    assert.equal(refusal(verifyDesiredState(s, opts())), "malformed");
  });
});

describe("desired-state document validation", () => {
  const build = (instances: InstanceSpec[]) => () =>
    buildDesiredState({
      computerId: "dc1-srv-001",
      dataCenter: "dc1",
      version: 1,
      instances,
      validitySeconds: 60,
    });
  const cases: [string, InstanceSpec[], string][] = [
    [
      "a program running as another user than its partition",
      [instance(1, { programs: [{ ...instance(2).programs[0] }] })],
      "document.instances[0].programs[0].user",
    ],
    [
      "two instances sharing a partition user",
      [instance(1), { ...instance(2), partition: instance(1).partition, programs: instance(1).programs }],
      "document.instances",
    ],
    [
      "a data-holding instance without a minimum persistence time",
      [instance(1, { minimumPersistenceSeconds: 0 })],
      "document.instances[0].minimumPersistenceSeconds",
    ],
    [
      "a release reference without a sha256 manifest digest",
      [instance(1, { release: { name: "x", version: "1.0.0", manifestDigest: "abc" } })],
      "document.instances[0].release.manifestDigest",
    ],
    [
      "a partition with uid 0",
      [instance(1, { partition: { user: "zrp1", uid: 0 } })],
      "document.instances[0].partition.uid",
    ],
  ];
  for (const [what, instances, path] of cases) {
    it(`refuses ${what}, naming ${path}`, () => {
      assert.throws(build(instances), (e: unknown) => e instanceof DesiredStateError && e.path === path);
    });
  }
});
