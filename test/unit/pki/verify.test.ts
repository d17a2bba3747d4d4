import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { OctetString } from "@peculiar/asn1-schema";
import * as x from "@peculiar/asn1-x509";
import * as pki from "../../../lib/pki";
import { forge } from "./forge";
import { opensslVerify, tempDir, tool } from "./helpers";

const DAY = 86_400_000;

/** One hierarchy per suite: keys are generated once (RSA/EC key generation dominates test time). */
function hierarchy(cn = "zeroroot root CA") {
  const root = pki.createRootCa({ commonName: cn, organization: "zeroroot" });
  const key = pki.generateKeyPair();
  const csr = pki.createCsr({ commonName: "dc1.zeroroot.example issuing CA" }, key.privateKey);
  const issued = pki.issueFromCsr(root.ca, "issuing", csr, {
    nameScope: { dnsZones: ["dc1.zeroroot.example"], ipNetworks: ["10.77.1.0/24"] },
  });
  const ca = pki.loadCa(issued.certificatePem, pki.exportPkcs8(key.privateKey));
  return { root, ca, rootKey: root.ca.privateKey };
}

describe("verifyCertificate refuses each bad certificate with its own reason, as openssl does", function () {
  this.timeout(30_000);
  const h = hierarchy();
  const foreign = hierarchy();
  const leafKey = pki.generateKeyPair();
  const csr = pki.createCsr(
    { commonName: "api", dnsNames: ["api.dc1.zeroroot.example"], ipAddresses: ["10.77.1.9"] },
    leafKey.privateKey,
  );
  const dir = tempDir("verify");
  const write = (name: string, pem: string) => (
    fs.writeFileSync(path.join(dir, name), pem),
    path.join(dir, name)
  );
  const rootFile = write("root.pem", h.root.certificatePem);
  const caFile = write("ca.pem", h.ca.certificatePem);
  const service = pki.issueFromCsr(h.ca, "service", csr);
  const chain = [service.certificatePem, h.ca.certificatePem];
  const verify = (
    c: readonly string[],
    opts: Partial<pki.VerifyOptions> = {},
    root = h.root.certificatePem,
  ) => pki.verifyCertificate(c, root, { use: "serverAuth", ...opts });
  const reason = (r: pki.VerifyResult) => (r.ok ? "ok" : r.reason);

  it("accepts a good service certificate for serverAuth and clientAuth", () => {
    assert.equal(reason(verify(chain)), "ok");
    assert.equal(reason(verify(chain, { use: "clientAuth" })), "ok");
  });

  it("refuses a chain to a foreign root (untrusted-root); openssl too", () => {
    assert.equal(reason(verify(chain, {}, foreign.root.certificatePem)), "untrusted-root");
    assert.notEqual(
      opensslVerify(
        write("foreign.pem", foreign.root.certificatePem),
        caFile,
        write("svc.pem", service.certificatePem),
        "sslserver",
      ).status,
      0,
    );
  });

  it("refuses an expired certificate (expired); openssl too", () => {
    const old = pki.issueFromCsr(h.ca, "service", csr, {}, { now: new Date(Date.now() - 200 * DAY) });
    assert.equal(reason(verify([old.certificatePem, h.ca.certificatePem])), "expired");
    assert.match(
      opensslVerify(rootFile, caFile, write("old.pem", old.certificatePem), "sslserver").out,
      /certificate has expired/,
    );
  });

  it("refuses a certificate that is not yet valid (not-yet-valid); openssl too", () => {
    const future = pki.issueFromCsr(h.ca, "service", csr, {}, { now: new Date(Date.now() + 10 * DAY) });
    assert.equal(reason(verify([future.certificatePem, h.ca.certificatePem])), "not-yet-valid");
    assert.match(
      opensslVerify(rootFile, caFile, write("future.pem", future.certificatePem), "sslserver").out,
      /not yet valid/,
    );
  });

  it("refuses a revoked certificate (revoked), a missing CRL (crl-missing) and a forged CRL (crl-bad-signature)", () => {
    const crl = pki.issueCrl(
      h.ca,
      [{ serial: service.serial, reason: "superseded", revokedAt: new Date() }],
      { number: 1 },
    );
    assert.equal(reason(verify(chain, { crls: [crl] })), "revoked");
    assert.equal(
      reason(verify(chain, { crls: [pki.issueCrl(h.root.ca, [], { number: 1 })] })),
      "crl-missing",
    );
    // Same issuer name, other key: a forged CRL must not clear or revoke anything.
    assert.equal(
      reason(verify(chain, { crls: [pki.issueCrl(foreign.ca, [], { number: 1 })] })),
      "crl-bad-signature",
    );
    assert.equal(reason(verify(chain, { crls: [pki.issueCrl(h.ca, [], { number: 2 })] })), "ok");
    assert.match(
      opensslVerify(
        rootFile,
        caFile,
        write("svc2.pem", service.certificatePem),
        "sslserver",
        write("crl.pem", crl),
      ).out,
      /certificate revoked/,
    );
  });

  it("refuses a stale CRL (crl-expired)", () => {
    const crl = pki.issueCrl(h.ca, [], {
      number: 3,
      thisUpdate: new Date(Date.now() - 10 * DAY),
      nextUpdate: new Date(Date.now() - DAY),
    });
    assert.equal(reason(verify(chain, { crls: [crl] })), "crl-expired");
  });

  it("lets the newest of several CRLs of one issuer decide, whatever their order (CRL number, then thisUpdate)", () => {
    const older = pki.issueCrl(h.ca, [], { number: 10 });
    const newer = pki.issueCrl(
      h.ca,
      [{ serial: service.serial, reason: "keyCompromise", revokedAt: new Date() }],
      {
        number: 11,
      },
    );
    assert.equal(reason(verify(chain, { crls: [older, newer] })), "revoked");
    assert.equal(reason(verify(chain, { crls: [newer, older] })), "revoked");
    // A revocation lifted by a later CRL (e.g. certificateHold released) stays lifted.
    const later = pki.issueCrl(h.ca, [], { number: 12 });
    assert.equal(reason(verify(chain, { crls: [newer, later] })), "ok");
    // Same number: the later thisUpdate wins.
    const t = Date.now();
    const early = pki.issueCrl(h.ca, [], { number: 13, thisUpdate: new Date(t - 2 * DAY) });
    const late = pki.issueCrl(
      h.ca,
      [{ serial: service.serial, reason: "superseded", revokedAt: new Date() }],
      {
        number: 13,
        thisUpdate: new Date(t - DAY),
      },
    );
    assert.equal(reason(verify(chain, { crls: [late, early] })), "revoked");
    assert.equal(reason(verify(chain, { crls: [early, late] })), "revoked");
  });

  it("refuses a stale CRL by default and, with strictCrl false, applies it and names it in staleCrls", () => {
    const stale = pki.issueCrl(h.ca, [], {
      number: 20,
      thisUpdate: new Date(Date.now() - 10 * DAY),
      nextUpdate: new Date(Date.now() - DAY),
    });
    const r = verify(chain, { crls: [stale] });
    assert.equal(reason(r), "crl-expired");
    assert.match(
      r.ok ? "" : r.detail,
      /newest CRL of "dc1\.zeroroot\.example issuing CA" \(number 20\) is stale/,
    );
    const lax = verify(chain, { crls: [stale], strictCrl: false });
    assert.ok(lax.ok);
    assert.deepEqual(
      lax.staleCrls.map((c) => [c.issuer, c.number]),
      [["dc1.zeroroot.example issuing CA", 20]],
    );
    assert.equal(verify(chain, { crls: [pki.issueCrl(h.ca, [], { number: 21 })] }).ok && "fresh", "fresh");
    const revokedStale = pki.issueCrl(
      h.ca,
      [{ serial: service.serial, reason: "keyCompromise", revokedAt: new Date() }],
      {
        number: 22,
        thisUpdate: new Date(Date.now() - 10 * DAY),
        nextUpdate: new Date(Date.now() - DAY),
      },
    );
    assert.equal(reason(verify(chain, { crls: [revokedStale], strictCrl: false })), "revoked");
  });

  it("refuses a leaf with an unknown critical extension (unknown-critical-extension); openssl too", () => {
    const odd = forge(h.ca, {
      cn: "api",
      publicKey: leafKey.publicKey,
      eku: ["serverAuth", "clientAuth"],
      dns: ["api.dc1.zeroroot.example"],
      extra: [
        new x.Extension({
          extnID: "1.3.6.1.4.1.99999.1",
          critical: true,
          extnValue: new OctetString(Buffer.from([5, 0])),
        }),
      ],
    });
    assert.equal(reason(verify([odd, h.ca.certificatePem])), "unknown-critical-extension");
    assert.match(
      opensslVerify(rootFile, caFile, write("odd.pem", odd), "sslserver").out,
      /unsupported certificate extension|unhandled critical extension/,
    );
  });

  it("refuses a TLS leaf whose keyUsage lacks digitalSignature, or that has no keyUsage (wrong-key-usage)", () => {
    const base = {
      cn: "api",
      publicKey: leafKey.publicKey,
      eku: ["serverAuth", "clientAuth"],
      dns: ["api.dc1.zeroroot.example"],
    };
    const noSign = forge(h.ca, { ...base, keyUsage: x.KeyUsageFlags.nonRepudiation });
    // keyAgreement alone: openssl's purpose check lets it pass (static ECDH), zeroroot's leaves all sign.
    const agreeOnly = forge(h.ca, { ...base, keyUsage: x.KeyUsageFlags.keyAgreement });
    const none = forge(h.ca, { ...base, keyUsage: null });
    for (const use of ["serverAuth", "clientAuth"] as const)
      for (const leaf of [noSign, agreeOnly, none])
        assert.equal(reason(verify([leaf, h.ca.certificatePem], { use })), "wrong-key-usage");
    assert.equal(reason(verify([forge(h.ca, base), h.ca.certificatePem])), "ok");
    assert.match(
      opensslVerify(rootFile, caFile, write("nosign.pem", noSign), "sslserver").out,
      /unsuitable certificate purpose/,
    );
  });

  it("refuses validity days that are not a whole number from 1 to the profile's maximum, at issuance and for a root", () => {
    for (const days of [0, -1, 1.5, Number.NaN, 91, 1e9])
      assert.throws(() => pki.issueFromCsr(h.ca, "service", csr, { validityDays: days }), {
        code: "bad-input",
        message: /allowed: a whole number from 1 to 90/,
      });
    assert.equal(pki.issueFromCsr(h.ca, "service", csr, { validityDays: 90 }).profile, "service");
    for (const days of [0, -365, 2.5, 7301])
      assert.throws(() => pki.createRootCa({ commonName: "r", validityDays: days }), {
        code: "bad-input",
        message: /allowed: a whole number from 1 to 7300/,
      });
  });

  it("refuses a certificate used outside its extended key usage (wrong-eku)", () => {
    const userKey = pki.generateKeyPair();
    const user = pki.issueFromCsr(h.ca, "user", pki.createCsr({ commonName: "alice" }, userKey.privateKey));
    assert.equal(
      reason(verify([user.certificatePem, h.ca.certificatePem], { use: "serverAuth" })),
      "wrong-eku",
    );
    assert.equal(
      reason(verify([user.certificatePem, h.ca.certificatePem], { use: "codeSigning" })),
      "wrong-eku",
    );
    assert.equal(reason(verify([user.certificatePem, h.ca.certificatePem], { use: "clientAuth" })), "ok");
  });

  it("refuses a name outside the issuing CA's constraints (name-not-permitted), even when openssl signed it", () => {
    const keyFile = write("ca.key", pki.exportPkcs8(h.ca.privateKey).toString());
    const csrFile = write("evil.csr", pki.createCsr({ commonName: "evil" }, leafKey.privateKey));
    const ext = write("ext.cnf", "subjectAltName=DNS:db.dc2.zeroroot.example\nextendedKeyUsage=serverAuth\n");
    const evil = path.join(dir, "evil.pem");
    const r = tool("openssl", [
      "x509",
      "-req",
      "-in",
      csrFile,
      "-CA",
      caFile,
      "-CAkey",
      keyFile,
      "-CAcreateserial",
      "-days",
      "5",
      "-extfile",
      ext,
      "-out",
      evil,
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(opensslVerify(rootFile, caFile, evil, "sslserver").out, /permitted subtree violation/);
    assert.equal(reason(verify([fs.readFileSync(evil, "utf8"), h.ca.certificatePem])), "name-not-permitted");
  });

  it("refuses a certificate whose signature was tampered with (bad-signature); openssl too", () => {
    const der = Buffer.from(service.certificatePem.replace(/-----[^-]+-----|\s/g, ""), "base64");
    der[der.length - 3] ^= 0x01;
    const tampered = `-----BEGIN CERTIFICATE-----\n${der.toString("base64")}\n-----END CERTIFICATE-----\n`;
    assert.equal(reason(verify([tampered, h.ca.certificatePem])), "bad-signature");
    assert.notEqual(opensslVerify(rootFile, caFile, write("t.pem", tampered), "sslserver").status, 0);
  });

  it("refuses at issuance a CSR asking for names the caller did not authorise", () => {
    assert.throws(
      () => pki.issueFromCsr(h.ca, "service", csr, { dnsNames: ["other.dc1.zeroroot.example"] }),
      { code: "name-not-authorised" },
    );
    assert.throws(() => pki.issueFromCsr(h.ca, "computer", csr, { commonName: "dc1-srv-1" }), {
      code: "name-not-authorised",
    });
  });

  it("never copies requested extensions: a CSR asking for CA:TRUE gets a leaf profile", () => {
    const ossl = tool("openssl", [
      "req",
      "-new",
      "-key",
      write("leaf.key", pki.exportPkcs8(leafKey.privateKey).toString()),
      "-subj",
      "/CN=sneaky",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=keyCertSign",
      "-out",
      path.join(dir, "sneaky.csr"),
    ]);
    assert.equal(ossl.status, 0, ossl.out);
    const cert = pki.issueFromCsr(h.ca, "user", fs.readFileSync(path.join(dir, "sneaky.csr")));
    const info = pki.parseCertificate(cert.certificatePem);
    assert.equal(info.isCa, false);
    assert.equal(info.keyCertSign, false);
  });

  it("reports renewal due inside the profile's window only", () => {
    const p = pki.profileFor("service");
    const notAfter = new Date(Date.now() + 40 * DAY);
    assert.equal(pki.renewalDue(notAfter, p), false);
    assert.equal(pki.renewalDue(notAfter, p, new Date(Date.now() + 11 * DAY)), true);
  });
});
