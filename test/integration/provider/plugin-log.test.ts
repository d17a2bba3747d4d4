/**
 * When a call fails because the plugin went away (a reset or refused connection, as seen once in the
 * bmc-rotation lab test), the failure says so and where the plugin's stderr is kept: the host
 * appends the plugin's stderr, start and exit to a file (the lab runner's is `plugin-<stack>.log`
 * in the lab's state folder). The real plugin, behind a wrapper that writes one line to stderr first.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pluginLogOf } from "../../../lab/orchestrate/runner";
import { LAUNCHER, PluginHost, urnOf } from "../../../provider/host";

const until = async (ok: () => boolean, what: string) => {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(ok(), what);
};

describe("provider host: the plugin's stderr and exit are kept in a file", function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), "zr-plugin-log-"));
  const file = join(dir, "plugin-dc1.log");
  const wrapper = join(dir, "launcher");
  let plugin: PluginHost | undefined;
  after(async () => plugin?.close());

  it("the lab runner keeps it next to the stack's state", () => {
    assert.equal(pluginLogOf("/lab/state/dc1.json"), "/lab/state/plugin-dc1.log");
  });

  it("a call after the plugin died names its exit, its last stderr and the file that keeps all of it", async () => {
    // exec: the wrapper's process becomes the plugin, so the pid in the file is the plugin's.
    writeFileSync(wrapper, `#!/bin/sh\necho "zr-test: plugin starting" >&2\nexec '${LAUNCHER}'\n`);
    chmodSync(wrapper, 0o755);
    plugin = await PluginHost.start({ launcher: wrapper, stderrFile: file });
    await plugin.configure({});
    const pid = Number(/plugin (\d+) started/.exec(readFileSync(file, "utf8"))?.[1]);
    assert.ok(pid > 0, readFileSync(file, "utf8"));
    process.kill(pid, "SIGKILL");
    await until(() => readFileSync(file, "utf8").includes("exited"), "the exit is recorded");
    const urn = urnOf("dc1", "zeroroot", "zeroroot:pki:RootCa", "root");
    await assert.rejects(plugin.check(urn, {}, { commonName: "root" }), (e: Error) => {
      assert.match(e.message, /the plugin exited \(signal SIGKILL\)/);
      assert.match(e.message, /its last stderr: .*zr-test: plugin starting/);
      assert.ok(e.message.includes(`all of it in ${file}`), e.message);
      return true;
    });
    const kept = readFileSync(file, "utf8").trim().split("\n");
    assert.match(kept[0], new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+ plugin ${pid} started: ${wrapper}$`));
    assert.ok(kept.some((l) => l.endsWith(" zr-test: plugin starting")));
    assert.match(kept[kept.length - 1], new RegExp(`plugin ${pid} exited: signal SIGKILL$`));
    assert.equal(statSync(file).mode & 0o777, 0o600, "only its owner reads it");
  });

  it("a driver that exits while its plugin runs (a failed deployment) records that it killed it", () => {
    const log = join(dir, "plugin-exiting.log");
    const script = join(dir, "driver.ts");
    writeFileSync(
      script,
      `import { PluginHost } from ${JSON.stringify(join(__dirname, "../../../provider/host"))};\n` +
        `PluginHost.start({ stderrFile: ${JSON.stringify(log)} }).then(() => process.exit(1));\n`,
    );
    const r = spawnSync(join(__dirname, "../../../node_modules/.bin/tsx"), [script], { timeout: 60_000 });
    assert.equal(r.status, 1, String(r.stderr));
    const kept = readFileSync(log, "utf8").trim().split("\n");
    assert.match(kept[kept.length - 1], /plugin \d+ killed: the process driving it \(\d+\) is exiting$/);
  });

  it("an error the plugin answers itself is not taken for a lost plugin", async () => {
    const alive = await PluginHost.start({ stderrFile: file });
    try {
      const urn = urnOf("dc1", "zeroroot", "zeroroot:nope:Nope", "x");
      await assert.rejects(alive.check(urn, {}, {}), (e: Error) => {
        assert.match(e.message, /is not served by pulumi-resource-zeroroot/);
        assert.doesNotMatch(e.message, /the plugin (exited|is still running)/);
        return true;
      });
    } finally {
      await alive.close();
    }
  });
});
