import { strict as assert } from "node:assert";
import { UNKNOWN, bmc, bmcViewOf, runRule } from "../../../lib/rules";
import { bmcServer, clone, record } from "./fixtures";

const run = (p: unknown) => runRule(bmc, bmcViewOf(record("BmcServer", "b", p)));

describe("rule bmc", () => {
  it("passes IPMI 2.0 with cipher suite 17", () => assert.deepEqual(run(bmcServer), []));
  it("passes cipher suite 3", () =>
    assert.deepEqual(run({ ...bmcServer, bmc: { ...bmcServer.bmc, cipherSuite: 3 } }), []));
  const cases: [string, (p: ReturnType<typeof clone>) => void, string][] = [
    ["fails when cipher suite 0 is used", (p) => (p.bmc.cipherSuite = 0), "bmc.cipherSuite"],
    ["fails when cipher suite 1 is used", (p) => (p.bmc.cipherSuite = 1), "bmc.cipherSuite"],
    ["fails when IPMI 1.5 is used", (p) => (p.bmc.ipmiVersion = "1.5"), "bmc.ipmiVersion"],
  ];
  for (const [title, mutate, path] of cases) {
    it(title, () => {
      const p = clone(bmcServer);
      mutate(p);
      assert.deepEqual(
        run(p).map((f) => f.path),
        [path],
      );
    });
  }
  it("fails when a live BMC accepts cipher suite 0", () => {
    const f = runRule(bmc, { ref: "bmc-1", cipherSuite: 3, enabledCipherSuites: [0, 3], ipmiVersion: "2.0" });
    assert.deepEqual(
      f.map((x) => x.path),
      ["bmc.enabledCipherSuites"],
    );
  });
  it("reports nothing for values unknown at preview", () => {
    assert.deepEqual(
      run({ ...bmcServer, bmc: { ...bmcServer.bmc, cipherSuite: UNKNOWN, ipmiVersion: UNKNOWN } }),
      [],
    );
    assert.deepEqual(run({ ...bmcServer, bmc: UNKNOWN }), []);
  });
});
