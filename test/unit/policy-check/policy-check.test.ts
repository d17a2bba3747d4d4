/**
 * `zeroroot policy check`: exit codes and output, in-process through the CLI's run(). The same
 * command as CI runs it (./bin/zeroroot, a child process): test/integration/cli/bin.test.ts.
 */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../helpers/cli";
import { REPO_ROOT, copyExampleStacks } from "../../helpers/cli-process";

const cli = (args: string[]) => runCli(args, { cwd: REPO_ROOT });

/** A copy of the example stacks with dc1 changed by `edit`; returns the copy of dc1. */
function brokenDc1(edit: (text: string) => string): string {
  const dir = copyExampleStacks("zr-policy-");
  const file = join(dir, "Pulumi.dc1.yaml");
  const text = readFileSync(file, "utf8");
  const changed = edit(text);
  assert.notEqual(changed, text, "the edit changed nothing");
  writeFileSync(file, changed);
  return file;
}

const noStackTrace = (s: string) =>
  assert.doesNotMatch(s, /\n\s+at \S+ \(/, "no stack trace for a user mistake");

describe("zeroroot policy check", function () {
  this.timeout(120_000);

  it("--all exits 0 on the example stacks and prints a summary per stack", async () => {
    const r = await cli(["policy", "check", "--all"]);
    assert.equal(r.code, 0, r.out + r.err);
    for (const s of ["dc1", "dc2", "dc3", "global", "(all stacks)"])
      assert.match(r.out, new RegExp(`^${s.replace(/[()]/g, "\\$&")}: \\d+ resources, 0 mandatory`, "m"));
    assert.match(r.out, /OK: no mandatory violation/);
  });

  it("exits 1 when a BMC password of dc1 is plain text, naming zero-password and the BmcCredential that holds it, never the password", async () => {
    const file = brokenDc1((t) =>
      t.replace(/password:\n\s+secure: v1:mDC4cfLtrFz4xFl3:[^\n]+/, "password: plain-text-bmc-pw"),
    );
    const r = await cli(["policy", "check", "--file", file]);
    assert.equal(r.code, 1, r.out + r.err);
    // The stack file's password is the initial BMC credential, held by the BmcCredential (docs/bmc.md).
    assert.match(r.out, /MANDATORY \[zero-password\] dc1-s01-bmc-credential initialPassword/);
    assert.match(r.out, /fix: Pass BMC passwords with pulumi\.secret/);
    assert.doesNotMatch(r.out + r.err, /plain-text-bmc-pw/);
    // fleet validate still refuses it as a config error
    const v = await cli(["fleet", "validate", "--file", file]);
    assert.equal(v.code, 1);
    assert.match(v.out, /servers\[0\]\.bmc\.password/);
  });

  it("exits 1 with the fleet validation errors, not a stack trace, on a bad config", async () => {
    const file = brokenDc1((t) => t.replace("minimumPersistence: 30d", "minimumPersistence: a month"));
    const r = await cli(["policy", "check", "--file", file]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /zeroroot:services\[0\]\.minimumPersistence/);
    assert.match(r.err, /Pulumi\.dc1\.yaml:\d+/);
    noStackTrace(r.out + r.err);
  });

  it("exits 2 on a usage error", async () => {
    assert.equal((await cli(["policy", "check"])).code, 2);
    assert.equal((await cli(["policy", "check", "--all", "--format", "xml"])).code, 2);
  });

  it("--format sarif is SARIF 2.1.0: one run, the pack's rules, results pointing at the stack file", async () => {
    const file = brokenDc1((t) =>
      t.replace("requireClientCertificate: true }", "requireClientCertificate: false }"),
    );
    const r = await cli(["policy", "check", "--file", file, "--format", "sarif"]);
    assert.equal(r.code, 1, r.err);
    const sarif = JSON.parse(r.out) as {
      version: string;
      $schema: string;
      runs: {
        tool: { driver: { name: string; rules: { id: string; name: string }[] } };
        results: {
          ruleId: string;
          ruleIndex: number;
          level: string;
          message: { text: string };
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
          }[];
        }[];
      }[];
    };
    assert.equal(sarif.version, "2.1.0");
    assert.match(sarif.$schema, /sarif-2\.1\.0/);
    assert.equal(sarif.runs.length, 1);
    const run = sarif.runs[0];
    // Rule ids are opaque and stable (lib/sarif/rule-ids.ts); the readable name is beside them.
    assert.ok(run.tool.driver.rules.some((x) => x.id === "ZR1005" && x.name === "MutualTls"));
    const mutualTls = run.results.filter((res) => res.ruleId === "ZR1005");
    assert.equal(mutualTls.length, 1, "one result: the server of dc1's PostgreSQL primary");
    const endpointLine =
      readFileSync(file, "utf8")
        .split("\n")
        .findIndex((l) => l.includes("requireClientCertificate: false")) + 1;
    for (const res of mutualTls) {
      assert.equal(
        res.locations[0].physicalLocation.region.startLine,
        endpointLine,
        "the line of the key that causes it",
      );
      assert.equal(run.tool.driver.rules[res.ruleIndex].id, res.ruleId);
      assert.equal(res.level, "error");
      assert.match(res.message.text, /requireClientCertificate/);
      assert.equal(res.locations[0].physicalLocation.artifactLocation.uri, "stacks/Pulumi.dc1.yaml");
    }
  });

  it("--config reads the file as the Pulumi CLI does: an unknown policy exits 1 naming it and the policies allowed", async () => {
    const dir = copyExampleStacks("zr-policy-config-");
    const file = join(dir, "policy-config.json");
    writeFileSync(file, JSON.stringify({ "signed-sofware": { authorisedSigners: [] } }));
    const r = await cli(["policy", "check", "--stack", "dc2", "--config", file]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /signed-sofware: no policy of this pack has that name; allowed: all, zero-root/);
    assert.equal(r.out, "");
    noStackTrace(r.err);
  });

  it("--config with a level per policy applies it: dc1 without authorised signers fails, then passes when signed-software is advisory", async () => {
    const dir = copyExampleStacks("zr-policy-config-");
    const file = join(dir, "policy-config.json");
    writeFileSync(file, JSON.stringify({}));
    const none = await cli(["policy", "check", "--stack", "dc1", "--config", file]);
    assert.equal(none.code, 1, none.out + none.err);
    // one per release dc1 runs: postgresql, mariadb-galera, dask
    assert.match(none.out, /^dc1: \d+ resources, 3 mandatory and 0 advisory/m);
    writeFileSync(file, JSON.stringify({ "signed-software": "advisory" }));
    const advisory = await cli(["policy", "check", "--stack", "dc1", "--config", file]);
    assert.equal(advisory.code, 0, advisory.out + advisory.err);
    assert.match(advisory.out, /^dc1: \d+ resources, 0 mandatory and 3 advisory/m);
  });

  it("--config refuses a file over 1 MiB before reading it", async () => {
    const dir = copyExampleStacks("zr-policy-config-");
    const file = join(dir, "policy-config.json");
    writeFileSync(file, `{"spread": {}, "pad": "${"x".repeat(1024 * 1024)}"}`);
    const r = await cli(["policy", "check", "--stack", "dc2", "--config", file]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /policy-config\.json: \d+ bytes; allowed: at most 1048576 bytes/);
  });

  it("--config naming a missing file is a usage error, not a run without config", async () => {
    const r = await cli(["policy", "check", "--stack", "dc1", "--config", "no-such-config.json"]);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /--config no-such-config\.json: no such file/);
  });

  it("--format json says ok and lists each stack", async () => {
    const r = await cli(["policy", "check", "--stack", "dc2", "--format", "json"]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { ok: boolean; stacks: { stack: string; violations: unknown[] }[] };
    assert.equal(j.ok, true);
    assert.deepEqual(
      j.stacks.map((s) => s.stack),
      ["dc2"],
    );
  });
});
