/**
 * The lab's BMC simulators start with an empty environment plus what they need (bmcSimEnv). A real
 * ipmi_sim started with it, and the boot command its hook runs, are read back in
 * test/integration/hardening/bmc-sim-env.test.ts.
 */
import { strict as assert } from "node:assert";
import { bmcSimEnv } from "../../../lab/bmc";

const CANARY = "ZR_TEST_CANARY_SECRET";

describe("lab BMC simulator environment", () => {
  it("is PATH (node's directory first), LANG and ZEROROOT_LAB_DIR when set, nothing else of the caller's", () => {
    const env = bmcSimEnv(
      { [CANARY]: "x", HOME: "/root", PULUMI_CONFIG_PASSPHRASE: "p", ZEROROOT_LAB_DIR: "/lab" },
      "/opt/node/bin",
    );
    assert.deepEqual(env, {
      PATH: "/opt/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      LANG: "C",
      ZEROROOT_LAB_DIR: "/lab",
    });
    assert.deepEqual(Object.keys(bmcSimEnv({}, "/usr/bin")), ["PATH", "LANG"]);
    assert.equal(
      bmcSimEnv({}, "/usr/bin").PATH,
      "/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/bin",
    );
  });
});
