/**
 * The README's commands, as written: `npm --prefix policies run build`, then
 * `pulumi preview --policy-pack policies --policy-pack-config policies/policy-config.json` per
 * example stack. No Pulumi CLI here: the pack process is started from policies/ as the CLI starts
 * it and spoken to as the engine does (Configure with the config file, Analyze each resource the
 * stack registers, AnalyzeStack), with the resources the example stack programs register. The
 * verdicts must agree with `zeroroot policy check --stack <s>` (checkStacks) on the same config.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { capture, checkStacks } from "../../../cli/commands/policy";
import { KEYS, readStackFile } from "../../../lib/fleet";
import { evaluateStack } from "../../../lab/stack-eval";
import { packConfigOf } from "../../../policies/config";
import { makePolicies, type CapturedResource, type PackConfig } from "../../../policies/policies";
import { PackClient, startPack, type PackRun } from "./pack-client";
import { REPO } from "./pack-install";

const stackFile = (s: string) => join(REPO, "stacks", `Pulumi.${s}.yaml`);
const STACK_FILES = ["global", "dc1", "dc2", "dc3"].map(stackFile);
const CONFIG_FILE = join(REPO, "policies/policy-config.json");

/** One line per violation, comparable between the pack's diagnostics and policy check's report. */
const key = (policy: string, urn: string | undefined, mandatory: boolean) =>
  `${mandatory ? "MANDATORY" : "advisory"} ${policy} ${urn ?? "(stack)"}`;

describe("the README's `pulumi preview --policy-pack policies --policy-pack-config policies/policy-config.json`", function () {
  this.timeout(240_000);
  let run: PackRun;
  let client: PackClient;
  let config: PackConfig;
  const stacks = new Map<string, CapturedResource[]>();

  before(async () => {
    execFileSync("npm", ["--prefix", "policies", "run", "build"], { cwd: REPO, stdio: "ignore" });
    run = await startPack(join(REPO, "policies"));
    assert.ok(run.port, `the pack did not start: exit ${run.code}\n${run.stderr()}`);
    client = new PackClient(run.port);
    config = packConfigOf(JSON.parse(readFileSync(CONFIG_FILE, "utf8")), CONFIG_FILE, makePolicies());
    const global = await evaluateStack(stackFile("global"));
    stacks.set("global", capture(global));
    for (const dc of ["dc1", "dc2", "dc3"]) {
      const ref = String(readStackFile(stackFile(dc)).values[KEYS.globalStack]);
      stacks.set(
        dc,
        capture(await evaluateStack(stackFile(dc), { stackOutputs: { [ref]: global.outputs } })),
      );
    }
  });
  after(() => {
    client?.close();
    run?.stop();
  });

  /** What the pack process reports over a stack's preview, and what `zeroroot policy check --stack` reports. */
  async function both(stack: string, cfg: PackConfig): Promise<{ pack: string[]; check: string[] }> {
    await client.configure(cfg);
    const pack = (await client.preview(stacks.get(stack)!)).map((d) =>
      key(d.policy, d.urn || undefined, d.mandatory),
    );
    const { reports, configErrors } = await checkStacks([stackFile(stack)], STACK_FILES, cfg);
    assert.deepEqual(configErrors, []);
    assert.deepEqual(
      reports.map((r) => r.stack),
      [stack],
    );
    const check = reports[0].violations.map((v) => key(v.policy, v.urn, v.enforcementLevel === "mandatory"));
    return { pack: pack.sort(), check: check.sort() };
  }

  it("the config file is one the CLI accepts: every key a policy of the pack, every setting in its schema", () => {
    assert.deepEqual(Object.keys(config).sort(), ["persistence", "signed-software"]);
  });

  it("without --policy-pack-config, dc1 is blocked by three mandatory violations: no authorised signer for its three releases", async () => {
    const { pack, check } = await both("dc1", {});
    const releases = stacks.get("dc1")!.filter((r) => r.type === "zeroroot:release:SoftwareRelease");
    assert.equal(releases.length, 3); // postgresql, mariadb-galera, dask
    assert.deepEqual(pack, releases.map((r) => key("signed-software", r.urn, true)).sort());
    assert.deepEqual(check, pack, "zeroroot policy check disagrees with the pack");
  });

  for (const stack of ["global", "dc1", "dc2", "dc3"])
    it(`with the example config, ${stack} passes with no violation, as zeroroot policy check says`, async () => {
      // The global stack with an offline root registers no custom resource; the others do.
      if (stack !== "global") assert.ok(stacks.get(stack)!.length > 0);
      const { pack, check } = await both(stack, config);
      assert.deepEqual(pack, []);
      assert.deepEqual(check, pack);
    });

  it("agrees with zeroroot policy check on a violation too: a persistence floor the example stacks do not meet", async () => {
    const strict = { ...config, persistence: { minimumPersistenceSeconds: 60 * 24 * 3600 } };
    const { pack, check } = await both("dc1", strict);
    assert.ok(pack.length > 0 && pack.every((k) => k.startsWith("MANDATORY persistence ")), pack.join("\n"));
    assert.deepEqual(check, pack);
  });

  it("sets a policy advisory through the config, in the pack as in zeroroot policy check", async () => {
    const { pack, check } = await both("dc1", { "signed-software": { enforcementLevel: "advisory" } });
    assert.equal(pack.length, 3);
    assert.ok(
      pack.every((k) => k.startsWith("advisory signed-software ")),
      pack.join("\n"),
    );
    assert.deepEqual(check, pack);
  });
});
