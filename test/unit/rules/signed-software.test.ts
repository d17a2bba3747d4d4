import { strict as assert } from "node:assert";
import { UNKNOWN, fleetViewOf, runRule, signedSoftware, type SignedSoftwareConfig } from "../../../lib/rules";
import { clone, desiredState, makeSigners, record, releaseOf, type Signers } from "./fixtures";

describe("rule signed-software", () => {
  let s: Signers;
  let config: Partial<SignedSoftwareConfig>;
  before(async function () {
    this.timeout(30000); // RSA key generation for four test certificates
    s = await makeSigners();
    config = { authorisedSigners: [{ fingerprint: s.fingerprint, description: "alice" }] };
  });
  const run = (release: unknown, state: unknown = desiredState, cfg?: Partial<SignedSoftwareConfig>) =>
    runRule(
      signedSoftware,
      fleetViewOf([record("SoftwareRelease", "rel", release), record("DesiredState", "ds", state)]),
      cfg ?? config,
    );

  it("passes a release signed by an authorised signer", () => assert.deepEqual(run(releaseOf(s.pem)), []));
  it("passes when the signer is authorised for that release name", () =>
    assert.deepEqual(
      run(releaseOf(s.pem), desiredState, {
        authorisedSigners: [{ fingerprint: s.fingerprint, releases: ["mariadb-galera"] }],
      }),
      [],
    ));
  it("fails when the signer is not authorised for that release name", () =>
    assert.equal(
      run(releaseOf(s.pem), desiredState, {
        authorisedSigners: [{ fingerprint: s.fingerprint, releases: ["dask"] }],
      }).length,
      1,
    ));
  it("fails when the signer is not authorised", () =>
    assert.match(run(releaseOf(s.foreignPem))[0].message, /not an authorised signer/));
  it("fails when no signer is configured", () =>
    assert.equal(run(releaseOf(s.pem), desiredState, {}).length, 1));
  it("fails when the signature is missing", () =>
    assert.match(run({ ...releaseOf(s.pem), signature: "" })[0].message, /signature is missing/));
  it("fails when the signer certificate is missing", () =>
    assert.match(run({ ...releaseOf(s.pem), signerCertificatePem: "" })[0].message, /signerCertificatePem/));
  it("fails when the signer certificate is not for code signing", () => {
    const f = run(releaseOf(s.serverAuthPem), desiredState, {
      authorisedSigners: [{ fingerprint: (s as Signers).fingerprint }],
    });
    assert.ok(f.some((x) => /codeSigning/.test(x.message)));
  });
  it("fails when the signer certificate expired", () =>
    assert.ok(run(releaseOf(s.expiredPem)).some((x) => /expired/.test(x.message))));
  it("fails when an instance runs a release nobody declared", () => {
    const p = clone(desiredState);
    p.instances[0].release.name = "netcat";
    const f = run(releaseOf(s.pem), p);
    assert.deepEqual(
      f.map((x) => x.path),
      ["instances[0].release"],
    );
  });
  it("fails when an instance's manifest digest differs from the signed one", () => {
    const p = clone(desiredState);
    p.instances[0].release.manifestDigest = "sha256:0000";
    assert.match(run(releaseOf(s.pem), p)[0].message, /differs/);
  });
  it("leaves out-of-scope releases to the cross-stack run when configured", () => {
    const p = clone(desiredState);
    p.instances[0].release.name = "elsewhere";
    assert.deepEqual(run(releaseOf(s.pem), p, { ...config, releasesOutOfScope: "ignore" }), []);
  });
  it("reports nothing for values unknown at preview", () => {
    const p = clone(desiredState);
    p.instances[0].release.manifestDigest = UNKNOWN;
    assert.deepEqual(run({ ...releaseOf(s.pem), signature: UNKNOWN, signerCertificatePem: UNKNOWN }, p), []);
  });
});
