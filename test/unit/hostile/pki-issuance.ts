/** Hostile CSRs and issuance requests: what a node, an operator or a compromised site may ask a CA. */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pki from "../../../lib/pki";
import { testRsaKeyPair } from "../../helpers/test-keys";
import { Z1, Z2, der, pemOf, refusalOf, type Fixture, type Row } from "./pki-fixture";

export function issuanceRows({ h, csr, issue, good }: Fixture): Row[] {
  const goodDer = der(csr("alice", { dnsNames: [] }), "CERTIFICATE REQUEST");
  const rsa2048 = testRsaKeyPair(2048, "weak").privateKey;
  const p521 = crypto.generateKeyPairSync("ec", { namedCurve: "P-521" }).privateKey;
  const ed25519Csr = (() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-hostile-"));
    const out = path.join(dir, "ed.csr");
    const r = spawnSync(
      "openssl",
      [
        "req",
        "-new",
        "-newkey",
        "ed25519",
        "-nodes",
        "-keyout",
        path.join(dir, "ed.key"),
        "-subj",
        "/CN=alice",
        "-out",
        out,
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    return fs.readFileSync(out, "utf8");
  })();
  const flipped = (() => {
    const b = Buffer.from(goodDer);
    b[b.length - 5] ^= 0x01;
    return pemOf(b, "CERTIFICATE REQUEST");
  })();
  const overrun = (() => {
    const b = Buffer.from(goodDer);
    b[b.indexOf(0x06, 8) + 1] += 0x40;
    return pemOf(b, "CERTIFICATE REQUEST");
  })();
  const manyNames = (n: number) => Array.from({ length: n }, (_, i) => `n${i}.dc1.zeroroot.example`);

  return [
    // Names: a CN is a plain name of its data center, or nothing is issued.
    ["CN with NUL", () => issue(h.dc1, "user", csr("ali\u0000ce")), "name-not-authorised"],
    [
      "CN with a newline (log forging)",
      () => issue(h.dc1, "user", csr("alice\nadmin")),
      "name-not-authorised",
    ],
    [
      "CN with ESC (terminal escape)",
      () => issue(h.dc1, "user", csr("\u001b[31malice")),
      "name-not-authorised",
    ],
    ["wildcard CN", () => issue(h.dc1, "service", csr("*.dc1.zeroroot.example")), "name-not-authorised"],
    ["CN of 10,000 characters", () => issue(h.dc1, "user", csr("a".repeat(10_000))), "name-not-authorised"],
    ["CN of 65 characters", () => issue(h.dc1, "user", csr("a".repeat(65))), "name-not-authorised"],
    [
      "another data center's computer name",
      () => issue(h.dc1, "computer", csr("dc2-s01")),
      "name-not-authorised",
    ],
    [
      "computer name that is only the data center",
      () => issue(h.dc1, "computer", csr("dc1")),
      "name-not-authorised",
    ],
    ["upper-case CN", () => issue(h.dc1, "user", csr("Alice")), "name-not-authorised"],
    ["CN __proto__", () => issue(h.dc1, "user", csr("__proto__")), "name-not-authorised"],
    ["CN with a space", () => issue(h.dc1, "user", csr("alice smith")), "name-not-authorised"],
    ["CN with a Cyrillic look-alike", () => issue(h.dc1, "user", csr("\u0430lice")), "name-not-authorised"],
    [
      "CN with a right-to-left override",
      () => issue(h.dc1, "user", csr("alice\u202egnp")),
      "name-not-authorised",
    ],
    ["CN with a zero-width joiner", () => issue(h.dc1, "user", csr("ali\u200dce")), "name-not-authorised"],
    ["CN with a leading dot", () => issue(h.dc1, "user", csr(".alice")), "name-not-authorised"],
    ["CN with a trailing hyphen", () => issue(h.dc1, "user", csr("alice-")), "name-not-authorised"],
    [
      "CN with a slash (URI path injection)",
      () => issue(h.dc1, "user", csr("alice/admin")),
      "name-not-authorised",
    ],
    [
      "CN with a query (URI injection)",
      () => issue(h.dc1, "user", csr("alice?admin")),
      "name-not-authorised",
    ],
    ["CN with a percent-escape", () => issue(h.dc1, "user", csr("alice%2fadmin")), "name-not-authorised"],
    [
      "service DNS-like CN in another zone",
      () => issue(h.dc1, "service", csr("db.dc2.zeroroot.example")),
      "name-not-authorised",
    ],
    ["empty CN", () => issue(h.dc1, "user", csr("")), "bad-csr"],
    [
      "CSR CN other than the authorised one",
      () => issue(h.dc1, "user", csr("alice"), { commonName: "bob" }),
      "name-not-authorised",
    ],
    [
      "dc2's CA asked for computer dc1-s01",
      () => issue(h.dc2, "computer", csr("dc1-s01")),
      "name-not-authorised",
    ],
    [
      "a site CA asked for a software signer",
      () => issue(h.site1, "software", csr("release-signer")),
      "name-not-permitted",
    ],
    ["a site CA asked for a user", () => issue(h.site1, "user", csr("alice")), "name-not-permitted"],
    [
      "issuing CA CN with NUL",
      () =>
        issue(h.root.ca, "issuing", csr("dc3 CA\u0000"), {
          nameScope: { dnsZones: ["dc3.zeroroot.example"] },
        }),
      "name-not-authorised",
    ],
    // Subject alternative names.
    [
      "DNS name the caller did not authorise",
      () => issue(h.dc1, "service", csr("pg", { dnsNames: ["pg.dc1.zeroroot.example"] }), { dnsNames: [] }),
      "name-not-authorised",
    ],
    [
      "DNS name on a user certificate",
      () => issue(h.dc1, "user", csr("alice", { dnsNames: ["alice.dc1.zeroroot.example"] })),
      "name-not-authorised",
    ],
    [
      "DNS name in another zone",
      () => issue(h.dc1, "service", csr("pg", { dnsNames: ["pg.dc2.zeroroot.example"] })),
      "name-not-permitted",
    ],
    [
      "IP address outside dc1's networks",
      () => issue(h.dc1, "service", csr("pg", { ipAddresses: ["10.99.0.1"] })),
      "name-not-permitted",
    ],
    [
      "IP address at dc2, which has no network",
      () => issue(h.dc2, "service", csr("pg", { ipAddresses: ["10.77.2.1"] })),
      "name-not-permitted",
    ],
    [
      "65 subject alternative names",
      () => issue(h.dc1, "service", csr("pg", { dnsNames: manyNames(65) })),
      "bad-csr",
    ],
    [
      "3,000 subject alternative names (a CSR over 64 KiB)",
      () => issue(h.dc1, "service", csr("pg", { dnsNames: manyNames(3000) })),
      "too-large",
    ],
    // The CSR itself.
    ["CSR whose signature does not verify", () => issue(h.dc1, "user", flipped), "bad-csr-signature"],
    ["CSR of an RSA-2048 key", () => issue(h.dc1, "user", csr("alice", {}, rsa2048)), "weak-key"],
    ["CSR of a P-521 key", () => issue(h.dc1, "user", csr("alice", {}, p521)), "weak-key"],
    ["CSR of an Ed25519 key (openssl)", () => issue(h.dc1, "user", ed25519Csr), "weak-key"],
    [
      "truncated CSR",
      () => issue(h.dc1, "user", pemOf(goodDer.subarray(0, goodDer.length - 10), "CERTIFICATE REQUEST")),
      "bad-csr",
    ],
    [
      "CSR with trailing garbage",
      () =>
        issue(h.dc1, "user", pemOf(Buffer.concat([goodDer, Buffer.from("garbage")]), "CERTIFICATE REQUEST")),
      "bad-csr",
    ],
    ["CSR with a length that overruns its SEQUENCE", () => issue(h.dc1, "user", overrun), "bad-csr"],
    [
      "70 KiB CSR",
      () => issue(h.dc1, "user", pemOf(Buffer.alloc(70 * 1024, 0x30), "CERTIFICATE REQUEST")),
      "too-large",
    ],
    ["1 MiB of PEM text", () => issue(h.dc1, "user", "A".repeat(1024 * 1024)), "too-large"],
    ["a certificate instead of a CSR", () => issue(h.dc1, "user", good.certificatePem), "bad-csr"],
    ["an empty CSR", () => issue(h.dc1, "user", ""), "bad-csr"],
    // Profiles and validity.
    ["validityDays 0", () => issue(h.dc1, "user", csr("alice"), { validityDays: 0 }), "bad-input"],
    ["negative validityDays", () => issue(h.dc1, "user", csr("alice"), { validityDays: -30 }), "bad-input"],
    ["fractional validityDays", () => issue(h.dc1, "user", csr("alice"), { validityDays: 1.5 }), "bad-input"],
    [
      "validityDays above the profile's maximum",
      () => issue(h.dc1, "user", csr("alice"), { validityDays: 366 }),
      "bad-input",
    ],
    [
      "root validityDays above 7300",
      () => refusalOf(() => pki.createRootCa({ commonName: "r", validityDays: 7301 })),
      "bad-input",
    ],
    [
      "root CN with a newline",
      () => refusalOf(() => pki.createRootCa({ commonName: "root\nCA" })),
      "bad-input",
    ],
    [
      "issuing CA with no kinds",
      () =>
        issue(h.root.ca, "issuing", csr("dc3 CA"), {
          nameScope: { dnsZones: ["dc3.zeroroot.example"], kinds: [] },
        }),
      "bad-input",
    ],
    [
      "issuing CA with an unknown kind",
      () =>
        issue(h.root.ca, "issuing", csr("dc3 CA"), {
          nameScope: { dnsZones: ["dc3.zeroroot.example"], kinds: ["admin" as pki.LeafKind] },
        }),
      "bad-input",
    ],
    [
      "issuing CA with two zones",
      () => issue(h.root.ca, "issuing", csr("dc3 CA"), { nameScope: { dnsZones: [Z1, Z2] } }),
      "bad-input",
    ],
    ["a leaf asked of the root", () => issue(h.root.ca, "user", csr("alice")), "bad-input"],
    ["an unknown profile", () => issue(h.dc1, "robot" as pki.ProfileName, csr("alice")), "unknown-kind"],
  ];
}
