import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pki from "../../../lib/pki";
import { asCa, forge, scopeOf } from "./forge";
import { opensslVerify, tempDir } from "./helpers";

const ZONE1 = "dc1.zeroroot.example";
const ZONE2 = "dc2.zeroroot.example";
const USE: Record<pki.LeafKind, pki.Eku> = {
  user: "clientAuth",
  computer: "clientAuth",
  software: "codeSigning",
  service: "serverAuth",
  job: "clientAuth",
};
const NAME: Record<pki.LeafKind, string> = {
  user: "alice",
  computer: "dc1-s01",
  software: "release-signer",
  service: "pg.dc1.zeroroot.example",
  job: "dc1.alice",
};

/** The root, dc1's and dc2's CAs (every kind), and dc1's site CA (computer and service only). */
function hierarchy() {
  const root = pki.createRootCa({ commonName: "zeroroot root CA" });
  const issuing = (zone: string, kinds?: pki.LeafKind[]) => {
    const key = pki.generateKeyPair();
    const csr = pki.createCsr({ commonName: `${zone} issuing CA` }, key.privateKey);
    const cert = pki.issueFromCsr(root.ca, "issuing", csr, { nameScope: { dnsZones: [zone], kinds } });
    return pki.loadCa(cert.certificatePem, pki.exportPkcs8(key.privateKey));
  };
  return { root, dc1: issuing(ZONE1), dc2: issuing(ZONE2), site1: issuing(ZONE1, ["computer", "service"]) };
}

describe("identity: (issuing data center, kind, name) bound into every certificate", function () {
  this.timeout(60_000);
  const h = hierarchy();
  const key = pki.generateKeyPair();
  const csrFor = (cn: string) => pki.createCsr({ commonName: cn }, key.privateKey);
  const identify = (
    chain: readonly string[],
    use: pki.Eku,
    expect?: pki.IdentityExpectation,
  ): pki.IdentityVerifyResult => pki.verifyIdentity(chain, h.root.certificatePem, { use, expect });
  const reason = (r: pki.IdentityVerifyResult) => (r.ok ? "ok" : r.reason);
  /** A leaf of dc1's CA signed whatever it says (a lax or compromised CA). */
  const forged = (f: Partial<Parameters<typeof forge>[1]>, ca = h.dc1) => [
    forge(ca, { cn: "alice", publicKey: key.publicKey, eku: ["clientAuth"], ...f }),
    ca.certificatePem,
  ];

  describe("at issuance", () => {
    it("refuses a computer certificate dc1-s01 from dc2's CA", () => {
      assert.throws(() => pki.issueFromCsr(h.dc2, "computer", csrFor("dc1-s01")), {
        code: "name-not-authorised",
        message: /computer name "dc1-s01" is not of data center dc2/,
      });
      assert.equal(pki.issueFromCsr(h.dc1, "computer", csrFor("dc1-s01")).profile, "computer");
    });

    it("lets a site CA with kinds computer and service issue those and refuses software and user", () => {
      for (const kind of ["software", "user"] as const)
        assert.throws(() => pki.issueFromCsr(h.site1, kind, csrFor(NAME[kind])), {
          code: "name-not-permitted",
          message: new RegExp(`may not issue ${kind} certificates`),
        });
      for (const kind of ["computer", "service"] as const)
        assert.equal(pki.issueFromCsr(h.site1, kind, csrFor(NAME[kind])).profile, kind);
    });

    it("refuses to issue from an issuing CA made before identities (no URI name constraints)", () => {
      const caKey = pki.generateKeyPair();
      const old = asCa(
        forge(h.root.ca, {
          cn: "old dc1 CA",
          publicKey: caKey.publicKey,
          ca: { pathLen: 0, scope: scopeOf(ZONE1, []) },
        }),
        caKey.privateKey,
      );
      assert.throws(() => pki.issueFromCsr(old, "user", csrFor("alice")), { code: "name-not-permitted" });
    });
  });

  describe("verifyIdentity", () => {
    for (const kind of pki.LEAF_KINDS) {
      it(`returns dc1/${kind}/${NAME[kind]} for a ${kind} certificate of dc1's CA`, () => {
        // a job certificate names its node (one DNS name); the others need no more than their CN
        const node = kind === "job" ? { dnsNames: ["c01.dc1.zeroroot.example"] } : {};
        const leaf = pki.issueFromCsr(h.dc1, kind, csrFor(NAME[kind]), node);
        const r = identify([leaf.certificatePem, h.dc1.certificatePem], USE[kind]);
        assert.ok(r.ok, r.ok ? "" : `${r.reason}: ${r.detail}`);
        assert.deepEqual(r.identity, { dataCenter: "dc1", kind, name: NAME[kind] });
        assert.equal(pki.formatIdentity(r.identity), `dc1/${kind}/${NAME[kind]}`);
      });
    }

    it("takes the data center from the CA that signed, and refuses what the verifier does not expect", () => {
      const leaf = pki.issueFromCsr(h.dc2, "user", csrFor("alice"));
      const chain = [leaf.certificatePem, h.dc2.certificatePem];
      const r = identify(chain, "clientAuth");
      assert.deepEqual(r.ok && r.identity, { dataCenter: "dc2", kind: "user", name: "alice" });
      assert.equal(reason(identify(chain, "clientAuth", { dataCenters: ["dc1"] })), "wrong-data-center");
      assert.equal(reason(identify(chain, "clientAuth", { kinds: ["computer"] })), "wrong-kind");
    });

    type Chain = string[] | { root: string; chain: string[] };
    const refusals: [title: string, chain: () => Chain, use: pki.Eku, expected: string][] = [
      ["a leaf without identity URI", () => forged({}), "clientAuth", "no-identity"],
      [
        "a leaf with two identity URIs",
        () => forged({ uris: [`zeroroot://user.${ZONE1}/alice`, `zeroroot://user.${ZONE1}/bob`] }),
        "clientAuth",
        "no-identity",
      ],
      [
        "a leaf whose URI names another than its CN",
        () => forged({ uris: [`zeroroot://user.${ZONE1}/bob`] }),
        "clientAuth",
        "wrong-name",
      ],
      [
        "a leaf of dc1's CA whose URI is in dc2's zone",
        () => forged({ uris: [`zeroroot://user.${ZONE2}/alice`] }),
        "clientAuth",
        "name-not-permitted",
      ],
      [
        "a user leaf whose EKU is more than its profile's",
        () => forged({ uris: [`zeroroot://user.${ZONE1}/alice`], eku: ["clientAuth", "serverAuth"] }),
        "clientAuth",
        "wrong-kind",
      ],
      [
        "a service leaf whose EKU is less than its profile's",
        () => forged({ cn: "pg", uris: [`zeroroot://service.${ZONE1}/pg`], eku: ["serverAuth"] }),
        "serverAuth",
        "wrong-kind",
      ],
      [
        "a leaf of an issuing CA with no URI name constraints (made before identities)",
        () => {
          const caKey = pki.generateKeyPair();
          const old = asCa(
            forge(h.root.ca, {
              cn: "old dc1 CA",
              publicKey: caKey.publicKey,
              ca: { pathLen: 0, scope: scopeOf(ZONE1, []) },
            }),
            caKey.privateKey,
          );
          return forged({ uris: [`zeroroot://user.${ZONE1}/alice`] }, old);
        },
        "clientAuth",
        "wrong-kind",
      ],
      [
        "a leaf below a path longer than leaf + issuing CA",
        () => {
          // A root without pathLen and two CA levels below it: every X.509 check passes, the identity does not.
          const rootKey = pki.generateKeyPair();
          const midKey = pki.generateKeyPair();
          const caKey = pki.generateKeyPair();
          const root = asCa(
            forge({ selfKey: rootKey.privateKey }, { cn: "long root", publicKey: rootKey.publicKey, ca: {} }),
            rootKey.privateKey,
          );
          const mid = asCa(
            forge(root, { cn: "mid CA", publicKey: midKey.publicKey, ca: {} }),
            midKey.privateKey,
          );
          const ca = asCa(
            forge(mid, {
              cn: "dc1 CA",
              publicKey: caKey.publicKey,
              ca: { pathLen: 0, scope: scopeOf(ZONE1, ["user"]) },
            }),
            caKey.privateKey,
          );
          return {
            root: root.certificatePem,
            chain: [...forged({ uris: [`zeroroot://user.${ZONE1}/alice`] }, ca), mid.certificatePem],
          };
        },
        "clientAuth",
        "no-identity",
      ],
    ];
    for (const [title, chain, use, expected] of refusals) {
      it(`refuses ${title} (${expected})`, () => {
        const c = chain();
        const [certs, root] = Array.isArray(c) ? [c, h.root.certificatePem] : [c.chain, c.root];
        const r = pki.verifyIdentity(certs, root, { use });
        assert.equal(reason(r), expected, r.ok ? "" : r.detail);
      });
    }
  });

  it("makes openssl refuse, too, a leaf whose URI host is outside its CA's permitted subtrees", () => {
    // The site CA may issue computer and service certificates only; its key signs a software signer anyway.
    const evil = forge(h.site1, {
      cn: "release-signer",
      publicKey: key.publicKey,
      eku: ["codeSigning"],
      uris: [`zeroroot://software.${ZONE1}/release-signer`],
    });
    const good = pki.issueFromCsr(h.site1, "computer", csrFor("dc1-s01")).certificatePem;
    const dir = tempDir("identity");
    const file = (name: string, pem: string) => (
      fs.writeFileSync(path.join(dir, name), pem),
      path.join(dir, name)
    );
    const rootFile = file("root.pem", h.root.certificatePem);
    const caFile = file("site1.pem", h.site1.certificatePem);
    const bad = opensslVerify(rootFile, caFile, file("evil.pem", evil), "any");
    assert.notEqual(bad.status, 0);
    assert.match(bad.out, /permitted subtree violation/);
    const ok = opensslVerify(rootFile, caFile, file("good.pem", good), "sslclient");
    assert.equal(ok.status, 0, ok.out);
    assert.equal(reason(identify([evil, h.site1.certificatePem], "codeSigning")), "name-not-permitted");
  });
});
