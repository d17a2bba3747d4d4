import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { AsnConvert } from "@peculiar/asn1-schema";
import { CertificationRequest, CertificationRequestInfo } from "@peculiar/asn1-csr";
import * as x from "@peculiar/asn1-x509";
import * as pki from "../../../lib/pki";
import { fromPem, toAb, toPem } from "../../../lib/pki/asn";
import { issueFromCsrWith, randomSerial } from "../../../lib/pki/ca";
import { parseCsrWithSchema } from "../../../lib/pki/csr";
import { readCsrParts } from "../../../lib/pki/fast-csr";
import { testKeyPair } from "../../helpers/test-keys";
import { opensslVerify, tempDir, tool } from "./helpers";

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000 + 456); // with milliseconds, which UTCTime drops

/**
 * An issuing CA of `kind` under a P-256 root: the root only signs the issuing CA's certificate, which
 * no case verifies, and an RSA root would cost a key generation (0.3–3 s) that test-keys.ts avoids.
 */
function issuingCa(kind: pki.KeyKind) {
  const root = pki.createRootCa({
    commonName: `fast-path root ${kind}`,
    organization: "zeroroot",
    keyKind: "ec-p256",
  });
  const key = testKeyPair(kind, "issuing-ca");
  const csr = pki.createCsr({ commonName: `dc1 issuing CA ${kind}` }, key.privateKey);
  const issued = pki.issueFromCsr(root.ca, "issuing", csr, {
    nameScope: { dnsZones: ["dc1.zeroroot.example"], ipNetworks: ["10.77.1.0/24", "fd00:77::/48"] },
  });
  return { root, ca: pki.loadCa(issued.certificatePem, pki.exportPkcs8(key.privateKey)) };
}

/** Names each leaf profile may carry, so that every optional part of the template is exercised. */
const NAMES: Record<pki.LeafKind, pki.Authorisation> = {
  user: { commonName: "alice", organization: "zeroroot" },
  computer: { commonName: "dc1-srv-1", dnsNames: ["srv-1.dc1.zeroroot.example"] },
  // Names are plain ASCII (identity.ts); the organization still exercises the template's UTF-8 strings.
  software: { commonName: "release-signer", organization: "zeroroot Æsir ✓" },
  service: {
    commonName: "pg.dc1.zeroroot.example",
    dnsNames: ["pg.dc1.zeroroot.example", "db.dc1.zeroroot.example"],
    ipAddresses: ["10.77.1.9", "fd00:77::9"],
  },
  // the node a job certificate is bound to: its address in O and as the IP SAN, its host name
  job: {
    commonName: "dc1.alice",
    organization: "10.77.1.9",
    dnsNames: ["c01.dc1.zeroroot.example"],
    ipAddresses: ["10.77.1.9"],
  },
};

describe("issuance fast path (DER walk of the CSR, pre-encoded certificate template)", function () {
  this.timeout(120_000);
  const leafKeys = new Map(pki.KEY_KINDS.map((k) => [k, testKeyPair(k, "leaf")] as const));
  const csrFor = (kind: pki.LeafKind, key: pki.KeyKind) => {
    const a = NAMES[kind];
    return pki.createCsr(
      { commonName: a.commonName as string, dnsNames: a.dnsNames, ipAddresses: a.ipAddresses },
      (leafKeys.get(key) as pki.KeyPair).privateKey,
    );
  };

  for (const caKind of ["ec-p256", "ec-p384", "rsa-3072"] as const) {
    describe(`with a ${caKind} issuing CA`, () => {
      const { ca } = issuingCa(caKind);
      for (const kind of pki.LEAF_KINDS) {
        it(`encodes ${kind} certificates for every key kind byte for byte as the schema encoder does`, () => {
          for (const key of pki.KEY_KINDS) {
            const csr = csrFor(kind, key);
            const serial = randomSerial();
            const issue = (encoder: "template" | "library") =>
              issueFromCsrWith({ encoder, serial }, ca, kind, csr, NAMES[kind], { now: NOW });
            const fast = pki.parseCertificate(issue("template").certificatePem);
            const slow = pki.parseCertificate(issue("library").certificatePem);
            assert.ok(fast.tbsDer.equals(slow.tbsDer), `${kind} / ${key}: TBSCertificate differs`);
            // The identity URI is part of what both encoders wrote, byte for byte.
            const uri = `zeroroot://${kind}.dc1.zeroroot.example/${NAMES[kind].commonName}`;
            assert.deepEqual([fast.uris, slow.uris], [[uri], [uri]]);
            // Certificate, signatureAlgorithm and signature framing: equal up to the (random) ECDSA signature.
            if (caKind.startsWith("rsa")) assert.ok(fast.der.equals(slow.der), `${kind} / ${key}`);
            else
              assert.equal(
                fast.der.length - slow.der.length,
                fast.asn.signatureValue.byteLength - slow.asn.signatureValue.byteLength,
              );
            assert.equal(fast.serial, serial.toString("hex"));
          }
        });
      }
    });
  }

  it("issues a service certificate that openssl verify accepts for sslserver and sslclient", () => {
    const { root, ca } = issuingCa("ec-p256");
    const dir = tempDir("fast-path");
    const write = (name: string, pem: string) => (
      fs.writeFileSync(path.join(dir, name), pem),
      path.join(dir, name)
    );
    const leaf = issueFromCsrWith(
      { encoder: "template" },
      ca,
      "service",
      csrFor("service", "ec-p256"),
      NAMES.service,
    );
    const args = [
      write("root.pem", root.certificatePem),
      write("ca.pem", ca.certificatePem),
      write("leaf.pem", leaf.certificatePem),
    ] as const;
    for (const purpose of ["sslserver", "sslclient"]) {
      const r = opensslVerify(...args, purpose);
      assert.equal(r.status, 0, r.out);
    }
    const text = tool("openssl", ["x509", "-noout", "-text", "-in", args[2]]).out;
    assert.match(
      text,
      /DNS:pg\.dc1\.zeroroot\.example, DNS:db\.dc1\.zeroroot\.example, IP Address:10\.77\.1\.9, IP Address:FD00:77:0:0:0:0:0:9, URI:zeroroot:\/\/service\.dc1\.zeroroot\.example\/pg\.dc1\.zeroroot\.example/,
    );
  });

  describe("reading CSRs", () => {
    const dir = tempDir("fast-csr");
    const opensslCsr = (subj: string, ...ext: string[]) => {
      const out = path.join(dir, `${ext.length}-${Math.random()}.csr`);
      const key = path.join(dir, "k.pem");
      fs.writeFileSync(key, pki.exportPkcs8((leafKeys.get("ec-p256") as pki.KeyPair).privateKey));
      const r = tool("openssl", [
        "req",
        "-new",
        "-key",
        key,
        "-subj",
        subj,
        ...ext.flatMap((e) => ["-addext", e]),
        "-out",
        out,
      ]);
      assert.equal(r.status, 0, r.out);
      return fs.readFileSync(out);
    };
    const samples = () => [
      ...pki.KEY_KINDS.map((k) => csrFor("service", k)),
      csrFor("user", "ec-p256"),
      opensslCsr(
        "/O=zeroroot/CN=pg.dc1.zeroroot.example",
        "subjectAltName=DNS:PG.dc1.zeroroot.example,IP:10.77.1.9,IP:fd00::1",
      ),
      opensslCsr("/CN=sneaky", "basicConstraints=critical,CA:TRUE", "keyUsage=keyCertSign"),
      opensslCsr("/OU=no common name"),
    ];

    it("reads the usual CSRs (createCsr, openssl req) with the DER walk, exactly as the schema parser does", () => {
      for (const csr of samples()) {
        const der = fromPem(csr, "CERTIFICATE REQUEST");
        assert.ok(readCsrParts(der), "the fast path should take this CSR");
        const fast = pki.parseCsr(csr);
        const slow = parseCsrWithSchema(der);
        const facts = (c: pki.ParsedCsr) => ({
          commonName: c.commonName,
          dnsNames: c.dnsNames,
          ipAddresses: c.ipAddresses,
          keyKind: c.keyKind,
          spkiDer: c.spkiDer.toString("hex"),
          spki: Buffer.from(AsnConvert.serialize(c.spki)).toString("hex"),
          publicKey: c.publicKey.export({ type: "spki", format: "der" }).toString("hex"),
        });
        assert.deepEqual(facts(fast), facts(slow));
      }
    });

    it("leaves an unusual CSR (IA5String CN) to the schema parser, which reads it", () => {
      const key = (leafKeys.get("ec-p256") as pki.KeyPair).privateKey;
      const info = new CertificationRequestInfo({
        subject: new x.Name([
          new x.RelativeDistinguishedName([
            new x.AttributeTypeAndValue({
              type: "2.5.4.3",
              value: new x.AttributeValue({ ia5String: "ia5-cn" }),
            }),
          ]),
        ]),
        subjectPKInfo: AsnConvert.parse(
          pki.parseCsr(csrFor("user", "ec-p256")).spkiDer,
          x.SubjectPublicKeyInfo,
        ),
      });
      const sig = crypto.sign("sha256", Buffer.from(AsnConvert.serialize(info)), key);
      const der = Buffer.from(
        AsnConvert.serialize(
          new CertificationRequest({
            certificationRequestInfo: info,
            signatureAlgorithm: new x.AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.3.2" }),
            signature: toAb(sig),
          }),
        ),
      );
      assert.equal(readCsrParts(der), undefined);
      assert.equal(pki.parseCsr(toPem(der, "CERTIFICATE REQUEST")).commonName, "ia5-cn");
    });

    it("refuses trailing bytes, truncation and lengths that overrun (bad-csr)", () => {
      const der = fromPem(csrFor("service", "ec-p256"), "CERTIFICATE REQUEST");
      const pem = (b: Buffer) => toPem(b, "CERTIFICATE REQUEST");
      assert.throws(() => pki.parseCsr(pem(Buffer.concat([der, Buffer.from([0x05, 0x00])]))), {
        code: "bad-csr",
      });
      assert.throws(() => pki.parseCsr(pem(der.subarray(0, der.length - 1))), { code: "bad-csr" });
      const overrun = Buffer.from(der);
      overrun[overrun.indexOf(0x06, 8) + 1] += 0x40; // an OID length inside the subject points past its SEQUENCE
      assert.throws(() => pki.parseCsr(pem(overrun)), { code: "bad-csr" });
    });

    it("refuses a CSR whose signed bytes were altered (bad-csr-signature), on the fast path too", () => {
      const der = Buffer.from(fromPem(csrFor("service", "ec-p256"), "CERTIFICATE REQUEST"));
      const at = der.indexOf(Buffer.from("pg.dc1"));
      der[at] = "q".charCodeAt(0);
      assert.ok(readCsrParts(der), "the altered CSR is still well-formed");
      assert.throws(() => pki.parseCsr(toPem(der, "CERTIFICATE REQUEST")), { code: "bad-csr-signature" });
    });
  });
});
