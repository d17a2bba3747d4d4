/**
 * The mariadb-galera service parameters a stack writes, and the names MariaDB sees: peers and
 * bootstrap member checked before anything reaches a node, issuer DNs in MariaDB's one-line form,
 * accounts named by the whole identity (dc1's alice is not dc2's alice).
 */
import { strict as assert } from "node:assert";
import {
  galeraParameters,
  GaleraConfigError,
  mariadbAccountName,
  mariadbDn,
  mariadbUserSubject,
  type GaleraParametersInput,
} from "../../../lib/datastores/mariadb-galera";

const DC1 = "/O=zeroroot/CN=dc1.zeroroot.test issuing CA";
const good: GaleraParametersInput = {
  cluster: "zeroroot",
  peers: ["10.0.1.10", "10.0.2.10", "10.0.3.10"],
  bootstrap: "10.0.1.10",
  userIssuers: { dc1: DC1, dc2: "/O=zeroroot/CN=dc2.zeroroot.test issuing CA" },
};

describe("mariadb-galera parameters", () => {
  it("renders peers, bootstrap member, user and job issuers as the release's galera.conf reads them", () => {
    assert.deepEqual(galeraParameters(good), {
      cluster: "zeroroot",
      peers: "10.0.1.10,10.0.2.10,10.0.3.10",
      bootstrap: "10.0.1.10",
      userIssuers: `dc1 ${DC1}; dc2 /O=zeroroot/CN=dc2.zeroroot.test issuing CA`,
      jobIssuers: "",
    });
    // the site CAs that issue job certificates, in the same form (galera.conf's job-issuers)
    assert.equal(
      galeraParameters({ ...good, jobIssuers: { dc2: "/O=zeroroot/CN=zeroroot issuing CA dc2" } }).jobIssuers,
      "dc2 /O=zeroroot/CN=zeroroot issuing CA dc2",
    );
  });

  const refused: [string, Partial<GaleraParametersInput>, RegExp][] = [
    [
      "two members: no quorum survives a loss",
      { peers: ["10.0.1.10", "10.0.2.10"] },
      /peers: 2 members; allowed: an odd number from 3 to 9/,
    ],
    [
      "four members: an even split loses quorum",
      { peers: ["10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4"] },
      /an odd number/,
    ],
    [
      "ten members",
      { peers: Array.from({ length: 11 }, (_, i) => `10.0.0.${i + 1}`) },
      /an odd number from 3 to 9/,
    ],
    [
      "a host name instead of an address",
      { peers: ["db1.example", "10.0.2.10", "10.0.3.10"] },
      /peers\[0\]: "db1.example" is not an IPv4 address/,
    ],
    ["an address with a port", { peers: ["10.0.1.10:4567", "10.0.2.10", "10.0.3.10"] }, /peers\[0\]/],
    ["a member listed twice", { peers: ["10.0.1.10", "10.0.1.10", "10.0.3.10"] }, /listed twice/],
    [
      "a bootstrap member outside the peers",
      { bootstrap: "10.0.9.9" },
      /bootstrap: "10.0.9.9" is not one of the peers/,
    ],
    ["a cluster name with a quote", { cluster: "zr'; DROP" }, /cluster: "zr'; DROP"; allowed: lower-case/],
    ["an issuer DN with a quote", { userIssuers: { dc1: "/CN=x' OR '1'='1" } }, /userIssuers.dc1/],
    [
      "an issuer DN with a newline",
      { userIssuers: { dc1: "/CN=a\nuser-issuers = dc9 /CN=b" } },
      /userIssuers.dc1: "\/CN=a\\nuser-issuers/,
    ],
    ["an issuer DN with a separator", { userIssuers: { dc1: "/CN=a; dc2 /CN=b" } }, /userIssuers.dc1/],
    ["a data center id with a space", { userIssuers: { "dc 1": DC1 } }, /userIssuers.dc 1/],
  ];
  for (const [name, change, message] of refused)
    it(`refuses ${name}, naming the field and the value`, () => {
      assert.throws(
        () => galeraParameters({ ...good, ...change }),
        (e: unknown) => e instanceof GaleraConfigError && message.test(e.message),
      );
    });
});

describe("MariaDB names of identities", () => {
  it("names an account by the whole identity and requires the bare CN as subject", () => {
    const alice = { dataCenter: "dc2", kind: "user" as const, name: "alice" };
    assert.equal(mariadbAccountName(alice), "dc2/user/alice");
    assert.equal(mariadbUserSubject(alice), "/CN=alice");
  });

  it("writes node's X509Certificate subject in MariaDB's one-line form", () => {
    assert.equal(mariadbDn("O=zeroroot\nCN=dc1.zeroroot.test issuing CA"), DC1);
  });

  it("refuses a DN MariaDB could not be asked for safely", () => {
    assert.throws(() => mariadbDn("O=zero'root\nCN=x"), /cannot be required by MariaDB here/);
  });
});
