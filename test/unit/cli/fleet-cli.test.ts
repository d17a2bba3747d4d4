/**
 * The `zeroroot fleet` commands: exit codes and output, in-process through the CLI's run(). The
 * same command as a child process (./bin/zeroroot): test/integration/cli/bin.test.ts.
 */
import { strict as assert } from "node:assert";
import { runCli } from "../../helpers/cli";
import { REPO_ROOT } from "../../helpers/cli-process";

const cli = (args: string[], cwd = REPO_ROOT) => runCli(args, { cwd });

describe("zeroroot fleet", () => {
  it("validate --stack dc1 exits 0 on the example", async () => {
    const r = await cli(["fleet", "validate", "--stack", "dc1"]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /stacks\/Pulumi\.dc1\.yaml: valid/);
  });

  it("validate --all checks every stack and the fleet", async () => {
    const r = await cli(["fleet", "validate", "--all"]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.out.match(/: valid/g)?.length, 4);
  });

  it("show prints a table without passwords, and --json for machines", async () => {
    const t = await cli(["fleet", "show", "--stack", "dc2"]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /dc2-s01\s+s01\.dc2\.zeroroot\.example\s+storage\s+10\.78\.2\.11/);
    const j = await cli(["fleet", "show", "--stack", "dc2", "--json"]);
    const parsed = JSON.parse(j.out) as { servers: { id: string; bmc: Record<string, unknown> }[] };
    assert.equal(parsed.servers.length, 5);
    assert.ok(parsed.servers.every((s) => !("password" in s.bmc)));
    assert.doesNotMatch(t.out + j.out, /v1:/);
  });

  it("gives a short usage error for unknown commands and options, and help for every command", async () => {
    assert.equal((await cli(["fleet", "frobnicate"])).code, 2);
    const bad = await cli(["fleet", "validate", "--stak", "dc1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown option '--stak'/);
    assert.equal((await cli(["fleet", "validate", "--stack", "dc9"])).code, 2);
    for (const args of [
      ["--help"],
      ["fleet", "--help"],
      ["fleet", "validate", "--help"],
      ["fleet", "show", "--help"],
    ]) {
      const h = await cli(args);
      assert.equal(h.code, 0, args.join(" "));
      assert.match(h.out, /Usage: zeroroot/);
    }
  });
});
