import { strict as assert } from "node:assert";
import { join } from "node:path";
import {
  checkStackConfig,
  formatIssues,
  readStackFile,
  type ConfigIssue,
  type PathSegment,
  type RawStackConfig,
} from "../../../lib/fleet";

const STACKS = join(__dirname, "../../../stacks");
const example = readStackFile(join(STACKS, "Pulumi.dc1.yaml"));
const exampleGlobal = readStackFile(join(STACKS, "Pulumi.global.yaml"));

type Values = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The example dc1 stack with one change, keeping which leaves are secrets unless told otherwise. */
function dc1With(
  change: (v: Values) => void,
  isSecret?: (p: readonly PathSegment[]) => boolean,
): RawStackConfig {
  const values = structuredClone(example.values) as Values;
  change(values);
  return { values, isSecret: isSecret ?? example.isSecret, locate: example.locate };
}

function issuesOf(raw: RawStackConfig): ConfigIssue[] {
  const { value, issues } = checkStackConfig(raw);
  assert.equal(value, undefined, "a config with issues must not resolve");
  return issues;
}

const DC = (v: Values) => v["zeroroot:dataCenter"];
const S = (v: Values, i: number) => DC(v).servers[i];

describe("fleet validation", () => {
  it("accepts the four example stacks", () => {
    for (const name of ["global", "dc1", "dc2", "dc3"]) {
      const { value, issues } = checkStackConfig(readStackFile(join(STACKS, `Pulumi.${name}.yaml`)));
      assert.deepEqual(issues, [], formatIssues(issues));
      assert.ok(value);
    }
  });

  it("fills defaults: BMC port 623, cipher suite 3", () => {
    const { value } = checkStackConfig(
      dc1With((v) => {
        delete S(v, 0).bmc.port;
        delete S(v, 0).bmc.cipherSuite;
      }),
    );
    assert.equal(value?.kind, "dataCenter");
    if (value?.kind === "dataCenter") {
      assert.equal(value.dataCenter.servers[0].bmc.port, 623);
      assert.equal(value.dataCenter.servers[0].bmc.cipherSuite, 3);
    }
  });

  // Each case: one mistake, the key path it must be reported at, and words of the reason.
  const cases: {
    title: string;
    change: (v: Values) => void;
    path: string;
    reason: RegExp;
    secret?: (p: readonly PathSegment[]) => boolean;
  }[] = [
    {
      title: "two servers sharing a MAC",
      change: (v) => (S(v, 1).macs[0] = S(v, 0).macs[0]),
      path: "zeroroot:dataCenter.servers[1].macs[0]",
      reason: /same MAC as zeroroot:dataCenter\.servers\[0\]\.macs\[0\]/,
    },
    {
      title: "two servers sharing an id",
      change: (v) => (S(v, 2).id = S(v, 0).id),
      path: "zeroroot:dataCenter.servers[2].id",
      reason: /same id as zeroroot:dataCenter\.servers\[0\]\.id/,
    },
    {
      title: "two servers sharing a host name",
      change: (v) => (S(v, 3).hostname = S(v, 0).hostname),
      path: "zeroroot:dataCenter.servers[3].hostname",
      reason: /same hostname/,
    },
    {
      title: "two servers sharing an address",
      change: (v) => (S(v, 4).address = S(v, 1).address),
      path: "zeroroot:dataCenter.servers[4].address",
      reason: /same address as zeroroot:dataCenter\.servers\[1\]\.address/,
    },
    {
      title: "a BMC on a server's address",
      change: (v) => (S(v, 1).bmc.address = S(v, 0).bmc.address),
      path: "zeroroot:dataCenter.servers[1].bmc.address",
      reason: /same address/,
    },
    {
      title: "a server address outside every data network",
      change: (v) => (S(v, 0).address = "10.99.0.5"),
      path: "zeroroot:dataCenter.servers[0].address",
      reason: /inside a data network \(10\.78\.1\.0\/24\)/,
    },
    {
      title: "a BMC reachable on the data network",
      change: (v) => (S(v, 0).bmc.address = "10.78.1.200"),
      path: "zeroroot:dataCenter.servers[0].bmc.address",
      reason: /no data network contains/,
    },
    {
      title: "a BMC outside the management network",
      change: (v) => (S(v, 0).bmc.address = "192.168.5.5"),
      path: "zeroroot:dataCenter.servers[0].bmc.address",
      reason: /inside the management network 10\.77\.1\.0\/24/,
    },
    {
      title: "an unknown role",
      change: (v) => (S(v, 0).roles = ["storage", "gpu"]),
      path: "zeroroot:dataCenter.servers[0].roles[1]",
      reason: /one of storage, compute, backup/,
    },
    {
      title: "no role at all",
      change: (v) => (S(v, 0).roles = []),
      path: "zeroroot:dataCenter.servers[0].roles",
      reason: /at least one role/,
    },
    {
      title: "a BMC password in plain text",
      change: () => undefined,
      secret: (p) => !(p.length === 5 && p[2] === 2 && p[4] === "password") && example.isSecret(p),
      path: "zeroroot:dataCenter.servers[2].bmc.password",
      reason: /a Pulumi secret/,
    },
    {
      title: "BMC cipher suite 0",
      change: (v) => (S(v, 0).bmc.cipherSuite = 0),
      path: "zeroroot:dataCenter.servers[0].bmc.cipherSuite",
      reason: /suite 0 has no authentication/,
    },
    {
      title: "BMC cipher suite 2, which does not encrypt",
      change: (v) => (S(v, 0).bmc.cipherSuite = 2),
      path: "zeroroot:dataCenter.servers[0].bmc.cipherSuite",
      reason: /do not encrypt/,
    },
    {
      title: "a malformed MAC",
      change: (v) => (S(v, 0).macs = ["52-54-00-01-01-11"]),
      path: "zeroroot:dataCenter.servers[0].macs[0]",
      reason: /colon-separated MAC/,
    },
    {
      title: "a malformed IP address",
      change: (v) => (S(v, 0).address = "10.78.1.300"),
      path: "zeroroot:dataCenter.servers[0].address",
      reason: /IPv4 or IPv6 address/,
    },
    {
      title: "a host name outside the data center's zone",
      change: (v) => (S(v, 0).hostname = "s01.dc2.zeroroot.example"),
      path: "zeroroot:dataCenter.servers[0].hostname",
      reason: /inside dc1\.zeroroot\.example/,
    },
    {
      title: "an id without the data center prefix",
      change: (v) => (S(v, 0).id = "s01"),
      path: "zeroroot:dataCenter.servers[0].id",
      reason: /starting with "dc1-"/,
    },
    {
      title: "a BMC port out of range",
      change: (v) => (S(v, 0).bmc.port = 70000),
      path: "zeroroot:dataCenter.servers[0].bmc.port",
      reason: /1 to 65535/,
    },
    {
      title: "a misspelt key",
      change: (v) => (S(v, 0).bootdisk = "/dev/sda"),
      path: "zeroroot:dataCenter.servers[0].bootdisk",
      reason: /only the keys documented/,
    },
    {
      title: "a removed key (bootDisk, never used)",
      change: (v) => (S(v, 0).bootDisk = "/dev/sda"),
      path: "zeroroot:dataCenter.servers[0].bootDisk",
      reason: /a key zeroroot does not know/,
    },
    {
      title: "a data network overlapping the management network",
      change: (v) => (DC(v).dataNetworks[0].cidr = "10.77.0.0/16"),
      path: "zeroroot:dataCenter.dataNetworks[0].cidr",
      reason: /does not overlap the management network/,
    },
    {
      title: "a network with host bits set",
      change: (v) => (DC(v).managementNetwork = "10.77.1.5/24"),
      path: "zeroroot:dataCenter.managementNetwork",
      reason: /host bits set; the network is 10\.77\.1\.0\/24/,
    },
    {
      title: "a management server outside the management network",
      change: (v) => (DC(v).managementServer.managementAddress = "10.78.1.2"),
      path: "zeroroot:dataCenter.managementServer.managementAddress",
      reason: /inside the management network/,
    },
    {
      title: "no servers",
      change: (v) => (DC(v).servers = []),
      path: "zeroroot:dataCenter.servers",
      reason: /at least one server/,
    },
    {
      title: "a missing domain",
      change: (v) => delete v["zeroroot:domain"],
      path: "zeroroot:domain",
      reason: /host name/,
    },
    {
      title: "both global and data-center settings",
      change: (v) => (v["zeroroot:global"] = { dataCenters: ["dc1", "dc2", "dc3"] }),
      path: "zeroroot:dataCenter",
      reason: /exactly one of them/,
    },
    {
      title: "a bad global stack reference",
      change: (v) => (v["zeroroot:globalStack"] = "not a stack name!"),
      path: "zeroroot:globalStack",
      reason: /stack reference name/,
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.title}, naming ${c.path}`, () => {
      const issues = issuesOf(dc1With(c.change, c.secret));
      const hit = issues.find((i) => i.path === c.path);
      assert.ok(hit, `expected an issue at ${c.path}, got:\n${formatIssues(issues)}`);
      assert.match(`${hit.received} | ${hit.allowed}`, c.reason);
      assert.ok(hit.fix.length > 10, "every issue says how to fix it");
    });
  }

  it("reports every mistake at once, with file and line", () => {
    const issues = issuesOf(
      dc1With((v) => {
        S(v, 1).macs[0] = S(v, 0).macs[0];
        S(v, 2).bmc.cipherSuite = 0;
        // dc1-c02: not the example cluster's scheduler (dc1-c01), so no second issue follows
        S(v, 4).roles = ["gpu"];
      }),
    );
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      "zeroroot:dataCenter.servers[1].macs[0]",
      "zeroroot:dataCenter.servers[2].bmc.cipherSuite",
      "zeroroot:dataCenter.servers[4].roles[0]",
    ]);
    for (const i of issues) {
      assert.match(i.file ?? "", /Pulumi\.dc1\.yaml$/);
      assert.ok((i.line ?? 0) > 0);
    }
  });

  it("never shows a BMC password, even a malformed one", () => {
    const secret = "hunter2-very-secret";
    const issues = issuesOf(
      dc1With(
        (v) => (S(v, 0).bmc.password = secret),
        () => false,
      ),
    );
    assert.ok(issues.length > 0);
    assert.doesNotMatch(formatIssues(issues), new RegExp(secret));
    const typed = issuesOf(dc1With((v) => (S(v, 0).bmc.password = 12345)));
    assert.doesNotMatch(formatIssues(typed), /12345/);
  });

  it("refuses a global stack listing fewer than three data centers, or one twice", () => {
    const few = {
      values: { ...exampleGlobal.values, "zeroroot:global": { dataCenters: ["dc1", "dc2"] } },
      isSecret: () => false,
    };
    assert.match(
      issuesOf(few)
        .map((i) => i.allowed)
        .join(),
      /at least three data centers/,
    );
    const twice = {
      values: { ...exampleGlobal.values, "zeroroot:global": { dataCenters: ["dc1", "dc2", "dc1"] } },
      isSecret: () => false,
    };
    assert.equal(issuesOf(twice)[0].path, "zeroroot:global.dataCenters[2]");
  });
});
