/** The `zeroroot fleet` commands, run as a user runs them: a child process, exit codes, output. */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { copyExampleStacks, zeroroot } from "../../helpers/cli-process";

describe("zeroroot fleet", () => {
  it("validate --stack dc1 exits 0 on the example", () => {
    const r = zeroroot(["fleet", "validate", "--stack", "dc1"]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /stacks\/Pulumi\.dc1\.yaml: valid/);
  });

  it("validate --file exits 1 on a copy where two servers share a MAC, naming both key paths", () => {
    const dir = copyExampleStacks("zr-cli-");
    const file = join(dir, "Pulumi.dc1.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace('macs: ["52:54:00:01:01:13"]', 'macs: ["52:54:00:01:01:11"]'),
    );
    const r = zeroroot(["fleet", "validate", "--file", file], dir);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /zeroroot:dataCenter\.servers\[2\]\.macs\[0\]/);
    assert.match(r.out, /zeroroot:dataCenter\.servers\[0\]\.macs\[0\]/);
    assert.match(r.out, /Pulumi\.dc1\.yaml:\d+/);
    assert.doesNotMatch(r.out + r.err, /\n\s+at \S+ \(/, "no stack trace for a user mistake");
  });

  it("validate --all checks every stack and the fleet", () => {
    const r = zeroroot(["fleet", "validate", "--all"]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.out.match(/: valid/g)?.length, 4);
  });

  it("show prints a table without passwords, and --json for machines", () => {
    const t = zeroroot(["fleet", "show", "--stack", "dc2"]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /dc2-s01\s+s01\.dc2\.zeroroot\.example\s+storage\s+10\.78\.2\.11/);
    const j = zeroroot(["fleet", "show", "--stack", "dc2", "--json"]);
    const parsed = JSON.parse(j.out) as { servers: { id: string; bmc: Record<string, unknown> }[] };
    assert.equal(parsed.servers.length, 5);
    assert.ok(parsed.servers.every((s) => !("password" in s.bmc)));
    assert.doesNotMatch(t.out + j.out, /v1:/);
  });

  it("gives a short usage error for unknown commands and options, and help for every command", () => {
    assert.equal(zeroroot(["fleet", "frobnicate"]).code, 2);
    const bad = zeroroot(["fleet", "validate", "--stak", "dc1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown option '--stak'/);
    assert.equal(zeroroot(["fleet", "validate", "--stack", "dc9"]).code, 2);
    for (const args of [
      ["--help"],
      ["fleet", "--help"],
      ["fleet", "validate", "--help"],
      ["fleet", "show", "--help"],
    ]) {
      const h = zeroroot(args);
      assert.equal(h.code, 0, args.join(" "));
      assert.match(h.out, /Usage: zeroroot/);
    }
  });
});
