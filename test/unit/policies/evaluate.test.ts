import { strict as assert } from "node:assert";
import { evaluatePolicies, type CapturedResource } from "../../../policies/policies";
import { clone } from "../rules/fixtures";
import { compliantStack } from "./stack-fixture";

/** Breaks one resource of the compliant stack by name. */
function breakOne(
  resources: CapturedResource[],
  name: string,
  mutate: (props: ReturnType<typeof clone>) => void,
) {
  return resources.map((r) => {
    if (r.name !== name) return r;
    const props = clone(r.props);
    mutate(props);
    return { ...r, props };
  });
}

describe("evaluatePolicies (the pack without an engine)", () => {
  let base: Awaited<ReturnType<typeof compliantStack>>;
  before(async function () {
    this.timeout(30000); // RSA key generation for the test signers
    base = await compliantStack();
  });

  it("finds no violation in the compliant stack", () => {
    assert.deepEqual(evaluatePolicies(base.resources, base.config), []);
  });

  const cases: [string, string, (p: ReturnType<typeof clone>) => void, string | string[]][] = [
    ["a daemon runs as root", "dc1-s01-state", (p) => (p.instances[0].programs[0].uid = 0), "zero-root"],
    [
      "the BMC password is plain text",
      "dc1-s01-bmc",
      (p) => (p.bmc.password = "k3Qp!x9Zr7Lw2Vb8Nc4Md6"),
      "zero-password",
    ],
    ["the image installs openssh-server", "dc1-image", (p) => p.packages.push("openssh-server"), "no-ssh"],
    [
      "an endpoint accepts clients without certificates",
      "dc1-s01-state",
      (p) => (p.instances[0].endpoints[0].requireClientCertificate = false),
      // The instance is MariaDB: the datastore rule, which no port exemption turns off, reports it too.
      ["mutual-tls", "datastore-client-certificates"],
    ],
    ["a certificate has an RSA 2048 key", "mariadb-1-cert", (p) => (p.keyType = "rsa-2048"), "certificate"],
    ["a BMC uses cipher suite 0", "dc1-s01-bmc", (p) => (p.bmc.cipherSuite = 0), "bmc"],
    ["a release is unsigned", "mariadb-galera-10.11.6-1", (p) => (p.signature = ""), "signed-software"],
    [
      "a data instance can be destroyed after an hour",
      "dc1-s01-state",
      (p) => (p.instances[0].minimumPersistenceSeconds = 3600),
      "persistence",
    ],
    [
      "the only dc2 replica stops holding data",
      "dc2-s01-state",
      (p) => (p.instances[0].holdsData = false),
      "spread",
    ],
  ];
  for (const [what, name, mutate, policy] of cases) {
    it(`reports only ${[policy].flat().join(" and ")} when ${what}`, () => {
      const v = evaluatePolicies(breakOne(base.resources, name, mutate), base.config);
      assert.deepEqual([...new Set(v.map((x) => x.policy))], [policy].flat(), JSON.stringify(v, null, 1));
      assert.equal(v[0].enforcementLevel, "mandatory");
      assert.ok(v[0].remediation.length > 10);
      assert.ok(v[0].urn?.startsWith("urn:pulumi:dc1::"));
    });
  }

  it("reports zero-password-state when a provider returned a private key", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      type: "sec1",
      format: "pem",
    });
    const v = evaluatePolicies(
      breakOne(base.resources, "mariadb-1-cert", (p) => (p.keyPem = pem)),
      base.config,
    );
    assert.deepEqual([...new Set(v.map((x) => x.policy))].sort(), ["zero-password", "zero-password-state"]);
  });

  it("reports persistence when a data-holding desired state is not protected", () => {
    const rs = base.resources.map((r) =>
      r.name === "dc1-s01-state" ? { ...r, opts: { protect: false } } : r,
    );
    assert.deepEqual(
      evaluatePolicies(rs, base.config).map((v) => [v.policy, v.path]),
      [["persistence", "opts.protect"]],
    );
  });

  it("uses secretPaths given by the capturer", () => {
    const rs = breakOne(base.resources, "dc1-s01-bmc", (p) => (p.bmc.password = "plain"));
    const marked = rs.map((r) => (r.name === "dc1-s01-bmc" ? { ...r, secretPaths: ["bmc.password"] } : r));
    assert.deepEqual(evaluatePolicies(marked, base.config), []);
  });

  it("downgrades a policy to advisory, or disables it, by config", () => {
    const rs = breakOne(base.resources, "dc1-s01-bmc", (p) => (p.bmc.cipherSuite = 0));
    const adv = evaluatePolicies(rs, { ...base.config, bmc: { enforcementLevel: "advisory" } });
    assert.deepEqual(
      adv.map((v) => [v.policy, v.enforcementLevel]),
      [["bmc", "advisory"]],
    );
    assert.deepEqual(evaluatePolicies(rs, { ...base.config, bmc: { enforcementLevel: "disabled" } }), []);
  });

  it("passes rule configuration from the pack config", () => {
    const v = evaluatePolicies(base.resources, {
      ...base.config,
      persistence: { minimumPersistenceSeconds: 90 * 86400 },
    });
    assert.deepEqual([...new Set(v.map((x) => x.policy))], ["persistence"]);
  });

  it("runs only the named policies", () => {
    const rs = breakOne(base.resources, "dc1-s01-bmc", (p) => (p.bmc.cipherSuite = 0));
    assert.deepEqual(evaluatePolicies(rs, base.config, { only: ["spread"] }), []);
  });

  describe("exemptions", () => {
    const rs = () => breakOne(base.resources, "dc1-s01-bmc", (p) => (p.bmc.cipherSuite = 0));
    const now = () => Date.parse("2030-06-01T12:00:00Z");
    const exemption = (expires: string, resource = "dc1-s01-bmc") => ({
      rule: "bmc",
      resource,
      reason: "vendor firmware update scheduled, ticket OPS-12",
      expires,
    });

    it("a valid exemption by name silences the finding", () => {
      assert.deepEqual(
        evaluatePolicies(rs(), base.config, { exemptions: [exemption("2030-06-30")], now }),
        [],
      );
    });
    it("a valid exemption by URN silences the finding", () => {
      const urn = base.resources.find((r) => r.name === "dc1-s01-bmc")!.urn;
      assert.deepEqual(
        evaluatePolicies(rs(), base.config, { exemptions: [exemption("2030-06-01", urn)], now }),
        [],
      );
    });
    it("an exemption for another resource does not", () => {
      const v = evaluatePolicies(rs(), base.config, { exemptions: [exemption("2030-06-30", "other")], now });
      assert.deepEqual(
        v.map((x) => x.policy),
        ["bmc"],
      );
    });
    it("an expired exemption exempts nothing and is itself a violation", () => {
      const v = evaluatePolicies(rs(), base.config, { exemptions: [exemption("2030-05-31")], now });
      assert.deepEqual(v.map((x) => x.policy).sort(), ["bmc", "exemptions"]);
      assert.match(v.find((x) => x.policy === "exemptions")!.message, /expired on 2030-05-31/);
    });
    it("an exemption without a reason or with an unknown rule is a violation", () => {
      const v = evaluatePolicies(base.resources, base.config, {
        exemptions: [{ rule: "no-such-rule", resource: "x", reason: "", expires: "2031-01-01" }],
        now,
      });
      assert.equal(v.filter((x) => x.policy === "exemptions").length, 2);
    });
  });
});
