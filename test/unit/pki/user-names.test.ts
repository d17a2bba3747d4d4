/**
 * User names that would reach a datastore's own role. PostgreSQL maps a client certificate by its CN
 * (it cannot read the identity URI): a user certificate named like the replica's service
 * (`postgresql.s1.dc2.<domain>`, mapped to `replicator`), like `replicator` itself, like a partition
 * user (an instance's superuser) or a PostgreSQL built-in role must never exist. The one rule
 * (`leafNameProblem`) refuses them at issuance, in stack config (`parseIdentity`) and at verification
 * (a certificate a lax CA signed anyway).
 */
import { strict as assert } from "node:assert";
import * as pki from "../../../lib/pki";
import { forge } from "./forge";

const ZONE = "dc1.zeroroot.example";

/**
 * Names a user certificate may not carry, why (words the refusal must say), and why a verifier refuses
 * one that a lax CA signed anyway: the name rule (`wrong-name`), or, for a dotted CN outside the CA's
 * zone, X.509 name constraints already (`name-not-permitted`).
 */
const HOSTILE: readonly [name: string, why: RegExp, verifier: string][] = [
  ["replicator", /reserved/, "wrong-name"],
  ["postgres", /reserved/, "wrong-name"],
  ["public", /reserved/, "wrong-name"],
  ["current_user", /reserved/, "wrong-name"],
  ["session_user", /reserved/, "wrong-name"],
  ["none", /reserved/, "wrong-name"],
  ["zr-p001", /reserved/, "wrong-name"], // a partition user: its instance's superuser over peer authentication
  ["zr-agent", /reserved/, "wrong-name"],
  ["pg_monitor", /reserved/, "wrong-name"], // PostgreSQL's built-in roles
  ["pg_read_all_data", /reserved/, "wrong-name"],
  // the replica's service name, which pg_ident maps to replicator; from another zone and from its own
  ["postgresql.s1.dc2.zeroroot.example", /has a dot/, "name-not-permitted"],
  ["postgresql.s1.dc1.zeroroot.example", /has a dot/, "wrong-name"],
  ["galera.s1.dc1.zeroroot.example", /has a dot/, "wrong-name"],
  ["site.dc1.zeroroot.example", /has a dot/, "wrong-name"],
  ["alice.smith", /has a dot/, "name-not-permitted"],
  ["replicator.", /not a plain name/, "name-not-permitted"],
];

/** Names that stay allowed: ordinary users, etcd's `root` user, names that merely contain a reserved word. */
const ALLOWED: readonly string[] = ["alice", "mary-ann", "bob_2", "root", "replicator2", "my-postgres", "zr"];

describe("user names that a datastore would map to its own role", function () {
  this.timeout(60_000);
  const root = pki.createRootCa({ commonName: "zeroroot root CA" });
  const caKey = pki.generateKeyPair();
  const caCert = pki.issueFromCsr(
    root.ca,
    "issuing",
    pki.createCsr({ commonName: `${ZONE} issuing CA` }, caKey.privateKey),
    { nameScope: { dnsZones: [ZONE] } },
  );
  const dc1 = pki.loadCa(caCert.certificatePem, pki.exportPkcs8(caKey.privateKey));
  const key = pki.generateKeyPair();
  const userCert = (name: string) =>
    pki.issueFromCsr(dc1, "user", pki.createCsr({ commonName: name }, key.privateKey), { commonName: name });

  for (const [name, why, verifier] of HOSTILE) {
    it(`refuses a user certificate named "${name}" at issuance, in config and at verification`, () => {
      assert.throws(
        () => userCert(name),
        (e: unknown) => e instanceof pki.PkiError && e.code === "name-not-authorised" && why.test(e.message),
      );
      const parsed = pki.parseIdentity(`dc1/user/${name}`);
      assert.equal(typeof parsed, "string", `parseIdentity accepted dc1/user/${name}`);
      assert.match(parsed as string, why);
      // a lax or compromised CA signs it anyway: verifiers refuse it
      const leaf = forge(dc1, {
        cn: name,
        publicKey: key.publicKey,
        eku: ["clientAuth"],
        uris: [`zeroroot://user.${ZONE}/${name}`],
      });
      const r = pki.verifyIdentity([leaf, dc1.certificatePem], root.certificatePem, { use: "clientAuth" });
      assert.equal(r.ok ? "ok" : r.reason, verifier, r.ok ? "" : r.detail);
    });
  }

  for (const name of ALLOWED)
    it(`issues and verifies a user certificate named "${name}"`, () => {
      const c = userCert(name);
      const r = pki.verifyIdentity([c.certificatePem, dc1.certificatePem], root.certificatePem, {
        use: "clientAuth",
      });
      assert.deepEqual(r.ok && r.identity, { dataCenter: "dc1", kind: "user", name });
    });

  it("still issues the replica's service certificate under its DNS name (services are not users)", () => {
    const name = "postgresql.s1.dc1.zeroroot.example";
    const c = pki.issueFromCsr(dc1, "service", pki.createCsr({ commonName: name }, key.privateKey), {
      commonName: name,
      dnsNames: [name],
    });
    const r = pki.verifyIdentity([c.certificatePem, dc1.certificatePem], root.certificatePem, {
      use: "clientAuth",
    });
    assert.deepEqual(r.ok && r.identity, { dataCenter: "dc1", kind: "service", name });
  });
});
