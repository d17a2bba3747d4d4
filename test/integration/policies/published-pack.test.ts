/**
 * The pack as `pulumi policy publish` uploads it: `npm pack` of policies/ extracted alone into a
 * temporary folder with its production dependencies, started as the Pulumi CLI starts it. It must
 * run from that folder alone, and refuse to start when @pulumi/policy's internals it relies on for
 * secret tracking moved (patched copies of those internals).
 */
import { strict as assert } from "node:assert";
import { builtinModules } from "node:module";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makePolicies } from "../../../policies/policies";
import { shrinkwrapOf, type Lock } from "../../../policies/shrinkwrap";
import { bmcServer, clone } from "../../unit/rules/fixtures";
import { PackClient, startPack, type PackRun } from "./pack-client";
import { REPO, installedPack } from "./pack-install";
import { captured, wrapSecret } from "../../unit/policies/stack-fixture";

const readJson = (f: string) => JSON.parse(readFileSync(f, "utf8")) as Record<string, Record<string, string>>;

describe("the published policy pack (npm pack of policies/, run from a copy of that folder alone)", function () {
  this.timeout(240_000);
  let pack: ReturnType<typeof installedPack>;
  let run: PackRun;
  let client: PackClient;

  before(async () => {
    pack = installedPack();
    run = await startPack(pack.dir, pack.dir);
    assert.ok(run.port, `the pack did not start: exit ${run.code}\n${run.stderr()}`);
    client = new PackClient(run.port);
  });
  after(() => {
    client?.close();
    run?.stop();
    if (pack) rmSync(pack.root, { recursive: true, force: true });
  });

  it("holds only the built entry, PulumiPolicy.yaml, package.json and its shrinkwrap", () => {
    assert.deepEqual(pack.files, [
      "PulumiPolicy.yaml",
      "dist/index.js",
      "npm-shrinkwrap.json",
      "package.json",
    ]);
    assert.equal(readJson(join(pack.dir, "package.json")).main, "dist/index.js");
  });

  it("declares its own dependencies, pinned exactly to the root's versions", () => {
    const own = readJson(join(pack.dir, "package.json")).dependencies;
    const root = readJson(join(REPO, "package.json")).dependencies;
    assert.deepEqual(Object.keys(own).sort(), ["@pulumi/policy", "@pulumi/pulumi"]);
    for (const [name, version] of Object.entries(own)) {
      assert.match(version, /^\d+\.\d+\.\d+$/, `${name} is not an exact pin`);
      assert.equal(version, root[name], `${name}: the pack pins ${version}, the root ${root[name]}`);
    }
  });

  it("locks its tree to the root lockfile's versions (npm-shrinkwrap.json is up to date)", () => {
    const rootLock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as Lock;
    const manifest = JSON.parse(readFileSync(join(REPO, "policies/package.json"), "utf8")) as Parameters<
      typeof shrinkwrapOf
    >[0];
    assert.deepEqual(
      JSON.parse(readFileSync(join(REPO, "policies/npm-shrinkwrap.json"), "utf8")),
      shrinkwrapOf(manifest, rootLock),
      "policies/npm-shrinkwrap.json is stale: run npm --prefix policies run shrinkwrap",
    );
  });

  it("requires nothing at run time but its declared dependencies and Node's built-ins", () => {
    const text = readFileSync(join(pack.dir, "dist/index.js"), "utf8");
    const deps = Object.keys(readJson(join(pack.dir, "package.json")).dependencies);
    const required = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    assert.ok(required.length > 0);
    for (const r of required) {
      const builtin = r.startsWith("node:") || builtinModules.includes(r);
      assert.ok(builtin || deps.some((d) => r === d || r.startsWith(`${d}/`)), `dist/index.js requires ${r}`);
    }
  });

  it("starts from the copied folder and resolves no module outside it", () => {
    assert.deepEqual(run.stderr().match(/^OUTSIDE .*$/gm) ?? [], []);
  });

  it("the guard that checks this reports a pack that resolves modules outside its folder", async () => {
    // The repository's own policies/ resolves @pulumi/* from the root's node_modules.
    const dir = join(REPO, "policies");
    const inRepo = await startPack(dir, dir);
    inRepo.stop();
    assert.ok(inRepo.port, inRepo.stderr());
    assert.match(inRepo.stderr(), /^OUTSIDE .*node_modules\/@pulumi\/policy/m);
  });

  it("serves every policy of the pack", async () => {
    const names = (await client.info()).getPoliciesList().map((p) => p.getName());
    assert.deepEqual(
      names.sort(),
      makePolicies()
        .map((p) => p.name)
        .sort(),
    );
  });

  it("tracks secrets there: refuses a plain-text BMC password, accepts a secret one", async () => {
    const plain = await client.preview([captured("BmcServer", "dc1-s01-bmc", bmcServer)]);
    assert.deepEqual(
      plain.map((d) => d.policy),
      ["zero-password"],
    );
    const p = clone(bmcServer);
    p.bmc.password = wrapSecret(p.bmc.password);
    assert.deepEqual(await client.preview([captured("BmcServer", "dc1-s01-bmc", p)]), []);
  });

  describe("refuses to start when the @pulumi/policy internals for secret tracking moved", () => {
    const policyFile = (f: string) => join(pack.dir, "node_modules/@pulumi/policy", f);
    const cases: { name: string; patch: Record<string, (s: string) => string>; says: RegExp }[] = [
      {
        name: "deserializeProperties renamed",
        patch: {
          "deserialize.js": (s) =>
            s.replace(/exports\.deserializeProperties\b/g, "exports.deserializePropertiesV2"),
          "server.js": (s) =>
            s.replace(/deserialize_1\.deserializeProperties\(/g, "deserialize_1.deserializePropertiesV2("),
        },
        says: /no longer exports deserializeProperties\(struct, proxySecrets\)/,
      },
      {
        name: "the analyzer no longer calls it through the module export",
        patch: {
          "server.js": (s) =>
            s.replace(
              'const deserialize_1 = require("./deserialize");',
              'const deserialize_1 = { ...require("./deserialize") };',
            ),
        },
        says: /the analyzer does not reach the wrapped deserializeProperties/,
      },
      {
        name: "the deserializer keeps secrets wrapped",
        patch: {
          "deserialize.js": (s) =>
            s.replace(
              "if (proxySecrets) {\n                        // Wrap",
              "if (true) {\n                        // Wrap",
            ),
        },
        says: /no longer turns secret values into plain values/,
      },
      {
        name: "the analyzer functions are gone",
        patch: {
          "server.js": (s) => s.replace("exports.makeAnalyzeStackRpcFun = makeAnalyzeStackRpcFun;", ""),
        },
        says: /no longer exports makeAnalyzeRpcFun and makeAnalyzeStackRpcFun/,
      },
    ];
    for (const c of cases)
      it(`${c.name}: exits non-zero with a clear message and serves nothing`, async () => {
        const originals = Object.fromEntries(
          Object.keys(c.patch).map((f) => [f, readFileSync(policyFile(f), "utf8")]),
        );
        try {
          for (const [f, edit] of Object.entries(c.patch)) {
            const patched = edit(originals[f]);
            assert.notEqual(patched, originals[f], `the patch of ${f} changed nothing`);
            writeFileSync(policyFile(f), patched);
          }
          const r = await startPack(pack.dir);
          r.stop();
          assert.equal(r.port, undefined, "the pack started and printed a port");
          assert.notEqual(r.code, 0);
          assert.match(r.stderr(), /zeroroot's policy pack refuses to start: /);
          assert.match(r.stderr(), c.says);
          assert.match(r.stderr(), /Install @pulumi\/policy 1\.21\.0/);
          assert.doesNotMatch(r.stderr(), /^\s+at /m, "a stack trace was printed");
        } finally {
          for (const [f, text] of Object.entries(originals)) writeFileSync(policyFile(f), text);
        }
      });
  });
});
