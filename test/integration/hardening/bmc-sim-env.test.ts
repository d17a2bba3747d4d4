/**
 * The lab's BMC simulators start with an empty environment plus what they need: a real ipmi_sim on
 * 127.0.0.1 (no namespace, no root), powered on through IPMI so that its hook runs the boot
 * command; both environments are read back (/proc/<pid>/environ, and the boot command's own dump).
 * The environment itself (bmcSimEnv) is specified in test/unit/hardening/bmc-sim-env.test.ts.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { startBmcSim, stopBmcSim } from "../../../lab/bmc";

const CANARY = "ZR_TEST_CANARY_SECRET";

const environOf = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );

async function waitFor(file: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!existsSync(file) || readFileSync(file, "utf8") === "") {
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("lab BMC simulator environment (a running ipmi_sim)", function () {
  this.timeout(20_000);

  it("reaches a running ipmi_sim and the boot command its hook runs without the caller's secrets", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zr-bmc-env-"));
    const stateDir = join(dir, "bmc");
    const dump = join(dir, "boot-env");
    const port = 20000 + (process.pid % 20000);
    process.env[CANARY] = "must-not-leak";
    try {
      const sim = await startBmcSim({
        serverId: "env-test",
        address: "127.0.0.1",
        port,
        serialPort: port + 1,
        username: "admin",
        password: "s3cret-pass",
        stateDir,
        bootCommand: ["/bin/sh", "-c", `env > ${dump}.tmp && mv ${dump}.tmp ${dump}`, "boot"],
      });
      const simEnv = environOf(sim.pid);
      assert.deepEqual(Object.keys(simEnv).sort(), ["LANG", "PATH"]);
      assert.equal(simEnv.PATH.split(":")[0], dirname(process.execPath));

      execFileSync(
        "ipmitool",
        [
          "-I",
          "lanplus",
          "-C",
          "3",
          "-H",
          "127.0.0.1",
          "-p",
          String(port),
          "-U",
          "admin",
          "-P",
          "s3cret-pass",
          "chassis",
          "power",
          "on",
        ],
        { env: { PATH: "/usr/bin:/bin" }, timeout: 10_000 },
      );
      await waitFor(dump, 10_000);
      const bootEnv = readFileSync(dump, "utf8");
      assert.doesNotMatch(bootEnv, new RegExp(CANARY));
      assert.doesNotMatch(bootEnv, /^HOME=/m);
      assert.match(bootEnv, /^PATH=/m);
    } finally {
      delete process.env[CANARY];
      await stopBmcSim(stateDir);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
