/**
 * HardenedImage through the plugin as the engine drives it (child process, gRPC): the spec is what
 * lib/hardening derives, and with an archive named, create and read hash the file the site serves,
 * so a missing or altered image fails the update and shows on refresh.
 */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveHardenedImageSpec, toHardenedImageInputs } from "../../../lib/hardening";
import { PluginHost, urnOf, type Props } from "../../../provider/host";

const TYPE = "zeroroot:image:HardenedImage";
const URN = urnOf("dc1", "zeroroot", TYPE, "dc1-image");

describe("provider plugin over gRPC: HardenedImage against a site image directory", function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), "zr-images-"));
  const archive = Buffer.from("pretend zstd archive of the hardened image\n");
  const sha = createHash("sha256").update(archive).digest("hex");
  const file = join(dir, `${sha}.tar.zst`);
  const spec = toHardenedImageInputs(resolveHardenedImageSpec({ partitions: 2 }), "dc1");
  const inputs = (over: Props = {}): Props => ({ ...spec, imageDir: dir, imageSha256: sha, ...over });
  let plugin: PluginHost;
  // As the engine stores it: inputs, and outputs that do not repeat them.
  let state: { id: string; inputs: Props; outs: Props };

  before(async () => {
    plugin = await PluginHost.start();
  });
  after(async () => {
    await plugin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("Check refuses a digest that is not SHA-256 hex and a relative image directory", async () => {
    const r = await plugin.check(URN, {}, inputs({ imageSha256: "abc", imageDir: "images" }));
    const byProp = Object.fromEntries(r.failures.map((f) => [f.property, f.reason]));
    assert.match(byProp.imageSha256, /imageSha256 is "abc"; give the archive's SHA-256/);
    assert.match(byProp.imageDir, /imageDir is "images"; give the site's image directory, an absolute path/);
  });

  it("Create refuses an archive that is not in the site's image directory", async () => {
    const checked = (await plugin.check(URN, {}, inputs())).inputs;
    await assert.rejects(
      plugin.create(URN, checked),
      /image .*\.tar\.zst is not there; build and publish it/,
    );
  });

  it("Create records the spec and the archive it hashed", async () => {
    writeFileSync(file, archive);
    const checked = (await plugin.check(URN, {}, inputs())).inputs;
    state = { ...(await plugin.create(URN, checked)), inputs: checked };
    assert.equal(state.outs.present, true);
    assert.equal(state.outs.foundSha256, sha);
    assert.equal(checked.specHash, spec.specHash);
    assert.equal(state.outs.packages, undefined, "the spec is stored once, as inputs");
  });

  it("Read reports an altered archive, and the next Diff replaces, whose Create says why", async () => {
    writeFileSync(file, Buffer.concat([archive, Buffer.from("tampered")]));
    const r = await plugin.read(state.id, URN, state.outs, state.inputs);
    assert.equal(r.props.present, false);
    assert.notEqual(r.props.foundSha256, sha);
    const news = (await plugin.check(URN, {}, inputs())).inputs;
    const d = await plugin.diff(state.id, URN, r.props, news, r.inputs);
    assert.equal(d.changes, true);
    assert.deepEqual(d.replaces, ["imageSha256"]);
    await assert.rejects(
      plugin.create(URN, news),
      /hashes to [0-9a-f]{64}, not [0-9a-f]{64}; the site would serve an altered image/,
    );
  });

  it("Read reports the archive present again once it is restored, and Diff sees no change", async () => {
    writeFileSync(file, archive);
    const r = await plugin.read(state.id, URN, state.outs, state.inputs);
    assert.equal(r.props.present, true);
    const news = (await plugin.check(URN, {}, inputs())).inputs;
    const d = await plugin.diff(state.id, URN, r.props, news, r.inputs);
    assert.equal(d.changes, false);
  });

  it("another spec (a package added) replaces the image", async () => {
    const other = toHardenedImageInputs(
      resolveHardenedImageSpec({ partitions: 2, extraPackages: ["jq"] }),
      "dc1",
    );
    const news = (await plugin.check(URN, {}, inputs({ packages: other.packages, specHash: other.specHash })))
      .inputs;
    const d = await plugin.diff(state.id, URN, state.outs, news, state.inputs);
    assert.deepEqual(d.replaces.sort(), ["packages", "specHash"]);
  });

  it("without an archive named, records the spec only (nothing on disk to read)", async () => {
    const checked = (await plugin.check(URN, {}, { ...spec })).inputs;
    const s = await plugin.create(URN, checked);
    assert.equal(s.outs.present, false);
    const r = await plugin.read(s.id, URN, s.outs, checked);
    assert.equal(r.inputs.specHash, spec.specHash);
  });

  it("Delete leaves the archive where it is (the site operator removes images)", async () => {
    await plugin.delete(state.id, URN, state.outs, state.inputs);
    assert.equal(createHash("sha256").update(readFileSync(file)).digest("hex"), sha);
  });
});
