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
import { makeHierarchy, type Hierarchy } from "../release/fixtures";

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

  before(() => {
    h = makeHierarchy();
    auth = parseAuthorisationList({
      signers: [
        { commonName: "control-plane-dc1", desiredState: ["dc1"] },
        { commonName: "alice", releases: ["*"] },
        { commonName: "alice-service", desiredState: ["*"] },
        { commonName: "alice-old", desiredState: ["*"] },
        { commonName: "bob", desiredState: ["*"] },
      ],
    });
  });

  const doc = (over: Partial<Parameters<typeof buildDesiredState>[0]> = {}) =>
    buildDesiredState({
      computerId: "dc1-srv-001",
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
    computerId: "dc1-srv-001",
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

  it("refuses a desired state document for another computer", () => {
    assert.equal(refusal(verifyDesiredState(sign({ computerId: "dc1-srv-002" }), opts())), "wrong-computer");
  });

  it("refuses a document signed by a release signer (not authorised for desired state)", () => {
    assert.equal(refusal(verifyDesiredState(sign({}, h.alice), opts())), "unauthorised-signer");
  });

  it("refuses a document for a data center its signer is not authorised for", () => {
    assert.equal(refusal(verifyDesiredState(sign({ dataCenter: "dc2" }), opts())), "unauthorised-signer");
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
