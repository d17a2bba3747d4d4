/** Hostile certificates: what a peer may present to a verifier. */
import { OctetString } from "@peculiar/asn1-schema";
import * as x from "@peculiar/asn1-x509";
import * as pki from "../../../lib/pki";
import { asCa, asSigner, forge, scopeOf } from "../pki/forge";
import { DAY, Z1, Z2, der, pemOf, type Fixture, type Row } from "./pki-fixture";

export const critical = (oid: string): x.Extension =>
  new x.Extension({ extnID: oid, critical: true, extnValue: new OctetString(Buffer.from([5, 0])) });

export function certificateRows({ h, foreign, good, goodChain, uri, lax, verdict }: Fixture): Row[] {
  const subCaKey = pki.generateKeyPair();
  const subCa = asCa(
    forge(h.dc1, { cn: "sub CA", publicKey: subCaKey.publicKey, ca: { scope: scopeOf(Z1, ["user"]) } }),
    subCaKey.privateKey,
  );
  const leafAsIssuer = asSigner(
    forge(h.dc1, {
      cn: "alice",
      publicKey: subCaKey.publicKey,
      eku: ["clientAuth"],
      uris: [uri("user", "alice")],
      keyUsage: x.KeyUsageFlags.digitalSignature | x.KeyUsageFlags.keyCertSign,
    }),
    subCaKey.privateKey,
  );
  const goodCertDer = der(good.certificatePem, "CERTIFICATE");

  return [
    ["the baseline user certificate (control row)", () => verdict(goodChain), "ok"],
    [
      "expired certificate",
      () =>
        verdict([
          lax({ notBefore: new Date(Date.now() - 20 * DAY), notAfter: new Date(Date.now() - DAY) }),
          h.dc1.certificatePem,
        ]),
      "expired",
    ],
    [
      "certificate not yet valid",
      () => verdict([lax({ notBefore: new Date(Date.now() + DAY) }), h.dc1.certificatePem]),
      "not-yet-valid",
    ],
    [
      "user certificate presented as a TLS server",
      () => verdict(goodChain, { use: "serverAuth" }),
      "wrong-eku",
    ],
    [
      "user certificate whose EKU adds serverAuth",
      () => verdict([lax({ eku: ["clientAuth", "serverAuth"] }), h.dc1.certificatePem]),
      "wrong-kind",
    ],
    [
      "keyUsage without digitalSignature",
      () => verdict([lax({ keyUsage: x.KeyUsageFlags.keyEncipherment }), h.dc1.certificatePem]),
      "wrong-key-usage",
    ],
    ["no keyUsage at all", () => verdict([lax({ keyUsage: null }), h.dc1.certificatePem]), "wrong-key-usage"],
    [
      "unknown critical extension",
      () => verdict([lax({ extra: [critical("1.3.6.1.4.1.99999.7")] }), h.dc1.certificatePem]),
      "unknown-critical-extension",
    ],
    [
      "critical policy constraints this verifier does not process",
      () => verdict([lax({ extra: [critical("2.5.29.36")] }), h.dc1.certificatePem]),
      "unknown-critical-extension",
    ],
    [
      "identity URI naming another than the CN",
      () => verdict([lax({ uris: [uri("user", "bob")] }), h.dc1.certificatePem]),
      "wrong-name",
    ],
    [
      "two identity URIs",
      () => verdict([lax({ uris: [uri("user", "alice"), uri("user", "bob")] }), h.dc1.certificatePem]),
      "no-identity",
    ],
    ["no identity URI", () => verdict([lax({ uris: [] }), h.dc1.certificatePem]), "no-identity"],
    [
      "identity URI with a port",
      () => verdict([lax({ uris: [`zeroroot://user.${Z1}:443/alice`] }), h.dc1.certificatePem]),
      "no-identity",
    ],
    [
      "identity URI in upper case",
      () => verdict([lax({ uris: [`zeroroot://USER.${Z1}/alice`] }), h.dc1.certificatePem]),
      "no-identity",
    ],
    [
      "identity URI with a query",
      () => verdict([lax({ uris: [`${uri("user", "alice")}?as=admin`] }), h.dc1.certificatePem]),
      "no-identity",
    ],
    [
      "identity URI in another data center's zone",
      () => verdict([lax({ uris: [uri("user", "alice", Z2)] }), h.dc1.certificatePem]),
      "name-not-permitted",
    ],
    [
      "identity URI of a kind the site CA may not issue",
      () =>
        verdict(
          [
            lax({ cn: "signer", eku: ["codeSigning"], uris: [uri("software", "signer")] }, h.site1),
            h.site1.certificatePem,
          ],
          { use: "codeSigning" },
        ),
      "name-not-permitted",
    ],
    [
      "dc2's CA claiming a dc1 identity",
      () =>
        verdict([lax({ cn: "dc1-s01", uris: [uri("computer", "dc1-s01")] }, h.dc2), h.dc2.certificatePem]),
      "name-not-permitted",
    ],
    [
      "dc2's CA naming a computer dc1-s01 in its own zone",
      () =>
        verdict([
          lax({ cn: "dc1-s01", uris: [uri("computer", "dc1-s01", Z2)] }, h.dc2),
          h.dc2.certificatePem,
        ]),
      "wrong-name",
    ],
    [
      "crafted CN with NUL",
      () => verdict([lax({ cn: "ali\u0000ce", uris: [uri("user", "ali%00ce")] }), h.dc1.certificatePem]),
      "wrong-name",
    ],
    [
      "crafted upper-case name",
      () => verdict([lax({ cn: "Alice", uris: [uri("user", "Alice")] }), h.dc1.certificatePem]),
      "wrong-name",
    ],
    [
      "crafted name __proto__",
      () => verdict([lax({ cn: "__proto__", uris: [uri("user", "__proto__")] }), h.dc1.certificatePem]),
      "wrong-name",
    ],
    [
      "DNS name outside dc1's zone",
      () => verdict([lax({ dns: ["alice.dc2.zeroroot.example"] }), h.dc1.certificatePem]),
      "name-not-permitted",
    ],
    [
      "IP address at dc2, which excludes all",
      () =>
        verdict([
          lax(
            {
              cn: "pg",
              uris: [uri("service", "pg", Z2)],
              eku: ["serverAuth", "clientAuth"],
              ips: ["10.77.2.9"],
            },
            h.dc2,
          ),
          h.dc2.certificatePem,
        ]),
      "name-not-permitted",
    ],
    [
      "chain to a foreign root of the same name",
      () => verdict([lax({}, foreign.dc1), foreign.dc1.certificatePem]),
      "untrusted-root",
    ],
    [
      "forged issuing CA of the same name in the chain",
      () => verdict([good.certificatePem, foreign.dc1.certificatePem]),
      "untrusted-root",
    ],
    [
      "leaf below a CA below the issuing CA (pathLen 0)",
      () => verdict([lax({}, subCa), subCa.certificatePem, h.dc1.certificatePem]),
      "path-too-long",
    ],
    [
      "leaf signed by another leaf",
      () =>
        verdict([
          lax({ cn: "bob", uris: [uri("user", "bob")] }, leafAsIssuer),
          leafAsIssuer.certificatePem,
          h.dc1.certificatePem,
        ]),
      "not-a-ca",
    ],
    ["leaf signed directly by the root", () => verdict([lax({}, h.root.ca)]), "no-identity"],
    ["the issuing CA presented as a leaf", () => verdict([h.dc1.certificatePem]), "wrong-eku"],
    [
      "tampered signature",
      () => {
        const b = Buffer.from(goodCertDer);
        b[b.length - 3] ^= 1;
        return verdict([pemOf(b, "CERTIFICATE"), h.dc1.certificatePem]);
      },
      "bad-signature",
    ],
    [
      "SHA-1 signature",
      () => verdict([lax({ signatureOid: "1.2.840.10045.4.1" }), h.dc1.certificatePem]),
      "bad-signature",
    ],
    [
      "truncated certificate",
      () => verdict([pemOf(goodCertDer.subarray(0, 200), "CERTIFICATE"), h.dc1.certificatePem]),
      "malformed",
    ],
    [
      "70 KiB certificate",
      () => verdict([pemOf(Buffer.alloc(70 * 1024, 0x30), "CERTIFICATE"), h.dc1.certificatePem]),
      "too-large",
    ],
    [
      "chain of nine certificates",
      () => verdict([...goodChain, ...Array(7).fill(h.dc1.certificatePem)]),
      "too-large",
    ],
    ["no certificate at all", () => verdict(""), "malformed"],
    [
      "dc1 certificate where only dc2 is accepted",
      () => verdict(goodChain, { expect: { dataCenters: ["dc2"] } }),
      "wrong-data-center",
    ],
    [
      "user certificate where only services are accepted",
      () => verdict(goodChain, { expect: { kinds: ["service"] } }),
      "wrong-kind",
    ],
  ];
}
