/**
 * ./bin/zeroroot as users and CI run it: a child process per command, for what only the real binary
 * shows (its exit status, what reaches stderr, no stack trace). Everything else about these commands
 * runs in-process in the unit tier (test/unit/cli, policy-check, release). One case per command.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCli } from "../../helpers/cli";
import { copyExampleStacks, zeroroot } from "../../helpers/cli-process";
import * as pki from "../../../lib/pki";
import { FILES, baseManifest, makeHierarchy } from "../../unit/release/fixtures";

const noStackTrace = (s: string) =>
  assert.doesNotMatch(s, /\n\s+at \S+ \(/, "no stack trace for a user mistake");

/** A copy of the example stacks with dc1 changed by `edit`; returns the copy of dc1. */
function brokenDc1(edit: (text: string) => string): { dir: string; file: string } {
  const dir = copyExampleStacks("zr-bin-");
  const file = path.join(dir, "Pulumi.dc1.yaml");
  const text = fs.readFileSync(file, "utf8");
  const changed = edit(text);
  assert.notEqual(changed, text, "the edit changed nothing");
  fs.writeFileSync(file, changed);
  return { dir, file };
}

describe("./bin/zeroroot (a child process, as users and CI run it)", function () {
  this.timeout(120_000);

  it("fleet validate --file exits 1 on a copy where two servers share a MAC, naming both key paths", () => {
    const { dir, file } = brokenDc1((t) =>
      t.replace('macs: ["52:54:00:01:01:13"]', 'macs: ["52:54:00:01:01:11"]'),
    );
    const r = zeroroot(["fleet", "validate", "--file", file], dir);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /zeroroot:dataCenter\.servers\[2\]\.macs\[0\]/);
    assert.match(r.out, /zeroroot:dataCenter\.servers\[0\]\.macs\[0\]/);
    assert.match(r.out, /Pulumi\.dc1\.yaml:\d+/);
    noStackTrace(r.out + r.err);
  });

  it("policy check exits 1 when a service of dc1 runs as root, naming zero-root, the resource and the remediation", () => {
    const { file } = brokenDc1((t) =>
      t.replace(
        "      minimumPersistence: 30d\n",
        "      minimumPersistence: 30d\n      runAs: { user: root, uid: 0 }\n",
      ),
    );
    const r = zeroroot(["policy", "check", "--file", file]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /MANDATORY \[zero-root\] dc1-s01-state instances\[0\]/);
    assert.match(r.out, /runs as uid 0/);
    assert.match(r.out, /fix: Run the program as its own unprivileged user/);
    assert.deepEqual(
      [...new Set([...r.out.matchAll(/\[([a-z-]+)\]/g)].map((m) => m[1]))],
      ["zero-root"],
      "only zero-root fires",
    );
    noStackTrace(r.out + r.err);
  });

  it("release verify exits 0 on a signed release and 1 on a tampered one, with the reason and no stack trace", async () => {
    const h = makeHierarchy();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-bin-release-"));
    const p = (name: string) => path.join(dir, name);
    fs.writeFileSync(p("manifest.json"), JSON.stringify(baseManifest()));
    fs.writeFileSync(p("root.pem"), h.rootPem);
    fs.writeFileSync(p("dc1.pem"), h.issuingPem);
    fs.writeFileSync(p("alice.pem"), h.alice.certificatePem);
    fs.writeFileSync(p("alice.key"), pki.exportPkcs8(h.alice.privateKey), { mode: 0o600 });
    fs.writeFileSync(
      p("auth.json"),
      JSON.stringify({ signers: [{ identity: "dc1/software/alice", releases: ["mariadb-*"] }] }),
    );
    for (const [rel, content] of Object.entries(FILES)) {
      fs.mkdirSync(path.dirname(p(`files/${rel}`)), { recursive: true });
      fs.writeFileSync(p(`files/${rel}`), content);
    }
    const signed = await runCli([
      "release",
      "sign",
      "--manifest",
      p("manifest.json"),
      "--key",
      p("alice.key"),
      "--cert",
      p("alice.pem"),
      "--chain",
      p("dc1.pem"),
      "--files-dir",
      p("files"),
      "--out",
      p("signed.json"),
    ]);
    assert.equal(signed.code, 0, signed.err);
    const doc = JSON.parse(fs.readFileSync(p("signed.json"), "utf8")) as { manifest: { holdsData: boolean } };
    doc.manifest.holdsData = false;
    fs.writeFileSync(p("tampered.json"), JSON.stringify(doc));

    const base = ["release", "verify", "--root", p("root.pem"), "--authorised", p("auth.json")];
    const ok = zeroroot([...base, p("signed.json")]);
    assert.equal(ok.code, 0, ok.err);
    const bad = zeroroot([...base, p("tampered.json")]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /refused \(bad-signature\)/);
    noStackTrace(bad.out + bad.err);
  });
});
