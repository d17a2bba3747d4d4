/**
 * The packaged plugin (provider/pack.sh), as `pulumi plugin install resource zeroroot <version>
 * --file` would unpack it: production dependencies only (npm ci --omit=dev), somewhere that is not
 * a checkout, started by the launcher at the tarball's root, serving its schema and a resource.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PluginHost, urnOf } from "../../../provider/host";

const REPO = join(__dirname, "../../..");

describe("packaged provider plugin (production dependencies only)", function () {
  this.timeout(600_000);
  let tmp: string;
  after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  it("unpacks without dev dependencies and serves its schema and a RootCa from another path", async () => {
    tmp = mkdtempSync(join(tmpdir(), "zr-packaged-"));
    const tarball = execFileSync(join(REPO, "provider", "pack.sh"), [join(tmp, "out")], { encoding: "utf8" })
      .trim()
      .split("\n")
      .pop() as string;
    assert.match(tarball, /pulumi-resource-zeroroot-v\d+\.\d+\.\d+-linux-\w+\.tar\.gz$/);
    const dir = join(tmp, "plugins", "resource-zeroroot-v0.1.0");
    execFileSync("mkdir", ["-p", dir]);
    execFileSync("tar", ["-C", dir, "-xzf", tarball]);
    assert.ok(!existsSync(join(dir, "node_modules", "mocha")), "no dev dependency is packaged");
    assert.ok(!readdirSync(dir).includes("test"));
    const plugin = await PluginHost.start({ launcher: join(dir, "pulumi-resource-zeroroot") });
    try {
      assert.equal((await plugin.getSchema()).name, "zeroroot");
      const urn = urnOf("global", "zeroroot", "zeroroot:pki:RootCa", "root");
      const checked = await plugin.check(urn, {}, { commonName: "packaged root" });
      const created = await plugin.create(urn, checked.inputs);
      assert.match(String(created.outs.certificatePem), /BEGIN CERTIFICATE/);
    } finally {
      await plugin.close();
    }
  });
});
