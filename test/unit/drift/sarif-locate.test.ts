import { strict as assert } from "node:assert";
import { parseStackFile } from "../../../lib/fleet";
import { locateResourceKey, splitPath, stackOfUrn, violationLocator } from "../../../lib/sarif/locate";
import { sarifRuleId, sarifRuleName } from "../../../lib/sarif/rule-ids";

const YAML = `config:
  zeroroot:dataCenter:
    name: dc1
    servers:
      - id: dc1-s01
        bmc:
          address: 10.77.1.111
          cipherSuite: 3
      - id: dc1-s02
        bmc:
          address: 10.77.1.112
  zeroroot:services:
    - name: postgresql
      release: postgresql@15.8.0
      endpoints:
        - { port: 5432, tls: true, requireClientCertificate: false }
`;
const file = parseStackFile(YAML, "stacks/Pulumi.dc1.yaml");
const urn = (t: string, n: string) => `urn:pulumi:dc1::zeroroot::${t}::${n}`;
const bmc = {
  type: "zeroroot:fleet:BmcServer",
  urn: urn("zeroroot:fleet:BmcServer", "dc1-s02-bmc"),
  inputs: { serverId: "dc1-s02" },
};
const state = {
  type: "zeroroot:desired-state:DesiredState",
  urn: urn("zeroroot:desired-state:DesiredState", "dc1-s01-state"),
  inputs: { computerId: "dc1-s01", instances: [{ name: "postgresql" }] },
};
const release = {
  type: "zeroroot:release:SoftwareRelease",
  urn: urn("zeroroot:release:SoftwareRelease", "dc1-postgresql-15.8.0"),
  inputs: { name: "postgresql", version: "15.8.0" },
};
const image = {
  type: "zeroroot:image:HardenedImage",
  urn: urn("zeroroot:image:HardenedImage", "dc1-image"),
  inputs: {},
};

describe("SARIF locations: the stack file key that causes a violation", () => {
  const cases: [string, Parameters<typeof locateResourceKey>[1], string | undefined, string, number][] = [
    [
      "a BmcServer field: its server entry's key",
      bmc,
      "bmc.address",
      "zeroroot:dataCenter.servers[1].bmc.address",
      11,
    ],
    [
      "a BmcServer field not in the file: the server entry",
      bmc,
      "power",
      "zeroroot:dataCenter.servers[1].power",
      9,
    ],
    [
      "a DesiredState endpoint: its service's endpoint",
      state,
      "instances[0].endpoints[0].requireClientCertificate",
      "zeroroot:services[0].endpoints[0].requireClientCertificate",
      16,
    ],
    [
      "a DesiredState without a path: the server entry",
      state,
      undefined,
      "zeroroot:dataCenter.servers[0]",
      5,
    ],
    ["a SoftwareRelease: its service's release", release, undefined, "zeroroot:services[0].release", 14],
    ["the image (no image key): the data center mapping", image, "packages", "zeroroot:dataCenter.image", 2],
  ];
  for (const [name, r, path, key, line] of cases)
    it(name, () => {
      assert.deepEqual(locateResourceKey(file, r, path), { key, line });
    });

  it("splits a property path into config key segments", () => {
    assert.deepEqual(splitPath("instances[0].endpoints[12].port"), ["instances", 0, "endpoints", 12, "port"]);
    assert.deepEqual(splitPath(undefined), []);
  });

  it("a cross-stack violation finds its stack from the URN; an exemption points at the EXEMPTIONS line", () => {
    assert.equal(stackOfUrn(bmc.urn), "dc1");
    const locate = violationLocator(
      new Map([["dc1", { file: "/repo/stacks/Pulumi.dc1.yaml", resources: [bmc, state, release, image] }]]),
      (p) => p.replace("/repo/", ""),
      () => file,
      {
        file: "/repo/policies/exemptions.ts",
        text: "/** x */\n\nexport const EXEMPTIONS: readonly Exemption[] = [];\n",
      },
    );
    assert.deepEqual(locate("(all stacks)", { policy: "bmc", urn: bmc.urn, path: "bmc.cipherSuite" }), {
      uri: "stacks/Pulumi.dc1.yaml",
      key: "zeroroot:dataCenter.servers[1].bmc.cipherSuite",
      line: 10,
    });
    assert.deepEqual(locate("dc1", { policy: "exemptions" }), {
      uri: "policies/exemptions.ts",
      line: 3,
      key: "EXEMPTIONS",
    });
  });

  it("rule ids are opaque and stable; a name without one still gets a stable opaque id", () => {
    assert.equal(sarifRuleId("mutual-tls"), "ZR1005");
    assert.equal(sarifRuleName("mutual-tls"), "MutualTls");
    assert.match(sarifRuleId("some-new-rule"), /^ZRX[0-9A-F]{8}$/);
    assert.equal(sarifRuleId("some-new-rule"), sarifRuleId("some-new-rule"));
  });
});
