/**
 * What `lab up` decides for one server from what it read (pure; converge-plan.ts). The real
 * readings and actions are exercised by converge.test.ts.
 */
import { strict as assert } from "node:assert";
import { decide, describe as describeSeen, type Observed } from "../../../lab/orchestrate/converge-plan";
import { labDirOf, labOctetsOf, labPrefixOf, checkLabId } from "../../../lab/orchestrate/lab-id";
import { isLabNamespace } from "../../../lab/net";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const healthy: Observed = {
  id: "dc1-s1",
  bmc: { power: "on" },
  server: { running: true, device: "disk", bootedAt: ago(60), ready: true, diskInstalled: true },
  site: { phase: "ready", enrolled: true, lastReadyAt: ago(50) },
};
const seen = (o: {
  bmc?: Observed["bmc"];
  server?: Partial<Observed["server"]>;
  site?: Observed["site"];
}): Observed => ({
  ...healthy,
  bmc: o.bmc ?? healthy.bmc,
  server: { ...healthy.server, ...o.server },
  site: o.site ?? healthy.site,
});

describe("what lab up does with a server it read", () => {
  const table: [string, Observed, string, RegExp][] = [
    ["running from disk, ready report after this boot", healthy, "none", /ready/],
    [
      "powered off at its BMC",
      seen({ bmc: { power: "off" }, server: { running: false } }),
      "power-on",
      /power off/,
    ],
    [
      "BMC says on, PID 1 dead (killed)",
      seen({ server: { running: false, bootedAt: undefined, ready: false } }),
      "restart",
      /PID 1 is not running/,
    ],
    [
      "ready report older than this boot, booted 10 s ago",
      seen({ server: { bootedAt: ago(10) }, site: { phase: "ready", enrolled: true, lastReadyAt: ago(50) } }),
      "wait",
      /ready report/,
    ],
    [
      "no ready report for 5 minutes after booting",
      seen({
        server: { bootedAt: ago(300) },
        site: { phase: "ready", enrolled: true, lastReadyAt: ago(400) },
      }),
      "restart",
      /has not reported ready/,
    ],
    ["PID 1 refused to start services", seen({ server: { failure: "nft failed" } }), "restart", /nft failed/],
    [
      "idle in its netboot image after a failed install",
      seen({
        server: { device: "pxe", installerExitCode: 1, ready: false },
        site: { phase: "netbooted", enrolled: true },
      }),
      "reinstall",
      /netbooted \(its netboot installer exited 1\)/,
    ],
    [
      "installer still running, started 30 s ago",
      seen({
        server: { device: "pxe", bootedAt: ago(30), ready: false },
        site: { phase: "armed", enrolled: false },
      }),
      "wait",
      /install is running/,
    ],
    [
      "installer running for 10 minutes",
      seen({
        server: { device: "pxe", bootedAt: ago(600), ready: false },
        site: { phase: "armed", enrolled: false },
      }),
      "reinstall",
      /no certificate/,
    ],
    [
      "installed and enrolled, still in its netboot image",
      seen({
        server: { device: "pxe", installerExitCode: 0, ready: false },
        site: { phase: "enrolled", enrolled: true },
      }),
      "restart",
      /netboot image/,
    ],
    [
      "its disk is empty though the site knows it",
      seen({ server: { diskInstalled: false } }),
      "reinstall",
      /disk holds no/,
    ],
    [
      "its BMC does not answer",
      seen({ bmc: { error: "timeout" } }),
      "unreachable",
      /BMC did not answer: timeout/,
    ],
    [
      "its site does not answer",
      seen({ site: { error: "ECONNREFUSED" } }),
      "unreachable",
      /site did not answer/,
    ],
  ];
  for (const [what, o, action, why] of table)
    it(`${what}: ${action}`, () => {
      const d = decide(o, NOW);
      assert.equal(d.action, action, d.why);
      assert.match(d.why, why);
    });

  it("names what it saw for a server that did not converge", () => {
    const o = seen({
      server: { device: "pxe", installerExitCode: 1, ready: false },
      site: { phase: "netbooted", enrolled: true },
    });
    assert.equal(
      describeSeen(o),
      "BMC power on; PID 1 running from pxe, installer exit 1; disk installed; site phase netbooted, last ready report never",
    );
  });
});

describe("a lab's id", () => {
  it("gives the user's lab and the test lab distinct folders, namespace prefixes and networks", () => {
    assert.notEqual(labDirOf(""), labDirOf("test"));
    assert.match(labDirOf("test"), /\.zeroroot\/lab-test$/);
    assert.equal(labPrefixOf(""), "zr-");
    assert.equal(labPrefixOf("test"), "zrtest-");
    assert.deepEqual(labOctetsOf(""), { management: 77, data: 78 });
    assert.notDeepEqual(labOctetsOf("test"), labOctetsOf(""));
  });

  for (const bad of ["Test", "te st", "../x", "a".repeat(9), "zr-", "x\n"])
    it(`refuses ${JSON.stringify(bad)}, saying what is allowed`, () => {
      assert.throws(() => checkLabId(bad, "--lab-id"), /--lab-id .* is not allowed: give 1-8 of \[a-z0-9\]/);
    });

  it("keeps each lab's namespaces apart, and leaves other tools' namespaces to them", () => {
    assert.ok(isLabNamespace("zr-", "zr-dc1-s2"));
    assert.ok(isLabNamespace("zr-", "zr-fabric"));
    assert.ok(!isLabNamespace("zr-", "zrtest-dc1-s2"), "the user's lab does not own the test lab's");
    assert.ok(!isLabNamespace("zrtest-", "zr-dc1-s2"), "the test lab does not own the user's");
    assert.ok(!isLabNamespace("zr-", "zr-t123-fabricx"));
    assert.ok(!isLabNamespace("zr-", "zr-cp-test-dc1"));
  });
});
