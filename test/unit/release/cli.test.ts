/**
 * `zeroroot release sign|verify|digest`, driven in-process through the CLI's run() (test/helpers/cli.ts).
 * `release verify` as a child process (./bin/zeroroot): test/integration/cli/bin.test.ts.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCli } from "../../helpers/cli";
import { UsageError, UserError } from "../../../cli/errors";
import * as pki from "../../../lib/pki";
import { FIXTURE_KDF_ITERATIONS } from "../../helpers/test-keys";
import { FILES, baseManifest, makeHierarchy, type Hierarchy } from "./fixtures";

const PASS = "correct horse battery staple";

/** `zeroroot release ...` in-process (test/helpers/cli.ts); a commander usage error fails the test. */
async function run(args: string[]): Promise<{ error?: UserError; out: string }> {
  const r = await runCli(["release", ...args]);
  if (r.code !== 0 && !r.error)
    throw new Error(`zeroroot release ${args.join(" ")}: exit ${r.code}\n${r.err}`);
  return { error: r.error, out: r.out };
}

describe("zeroroot release (sign, verify, digest)", function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let dir: string;
  let p: (name: string) => string;

  before(() => {
    h = makeHierarchy();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-release-cli-"));
    p = (name) => path.join(dir, name);
    for (const [rel, content] of Object.entries(FILES)) {
      fs.mkdirSync(path.dirname(p(`files/${rel}`)), { recursive: true });
      fs.writeFileSync(p(`files/${rel}`), content);
    }
    fs.cpSync(p("files"), p("files-bad"), { recursive: true });
    // same size, other bytes: refused by its digest
    fs.writeFileSync(p("files-bad/share/schema.sql"), "CREATE TABLE u (id int);\n");
    fs.writeFileSync(p("manifest.json"), JSON.stringify(baseManifest()));
    fs.writeFileSync(p("root.pem"), h.rootPem);
    fs.writeFileSync(p("dc1.pem"), h.issuingPem);
    fs.writeFileSync(p("alice.pem"), h.alice.certificatePem);
    const encrypted = { passphrase: PASS, iterations: FIXTURE_KDF_ITERATIONS };
    fs.writeFileSync(p("alice.key"), pki.exportPkcs8(h.alice.privateKey, encrypted), { mode: 0o600 });
    fs.writeFileSync(p("alice-plain.key"), pki.exportPkcs8(h.alice.privateKey), { mode: 0o600 });
    fs.writeFileSync(p("service.pem"), h.service.certificatePem);
    fs.writeFileSync(p("service.key"), pki.exportPkcs8(h.service.privateKey));
    fs.writeFileSync(p("pass"), `${PASS}\n`, { mode: 0o600 });
    fs.writeFileSync(
      p("auth.json"),
      JSON.stringify({ signers: [{ identity: "dc1/software/alice", releases: ["mariadb-*"] }] }),
    );
    fs.writeFileSync(
      p("auth-cn.json"),
      JSON.stringify({ signers: [{ commonName: "alice", releases: ["*"] }] }),
    );
  });

  async function signWithPassphrase(out: string, extra: string[] = []) {
    const fd = fs.openSync(p("pass"), "r");
    try {
      return await run([
        "sign",
        "--manifest",
        p("manifest.json"),
        "--key",
        p("alice.key"),
        "--cert",
        p("alice.pem"),
        "--chain",
        p("dc1.pem"),
        "--out",
        out,
        "--passphrase-fd",
        String(fd),
        ...extra,
      ]);
    } finally {
      fs.closeSync(fd);
    }
  }
  const verify = (signed: string, extra: string[] = []) =>
    run(["verify", "--root", p("root.pem"), "--authorised", p("auth.json"), ...extra, signed]);

  it("signs with an encrypted key whose passphrase comes from a file descriptor, and verify accepts it", async () => {
    const s = await signWithPassphrase(p("signed.json"), ["--files-dir", p("files")]);
    assert.equal(s.error, undefined, s.error?.message);
    const v = await verify(p("signed.json"), ["--files-dir", p("files")]);
    assert.equal(v.error, undefined, v.error?.message);
    assert.match(
      v.out,
      /OK mariadb-galera 10\.11\.6 sha256:[0-9a-f]{64}, signed by dc1\/software\/alice; 2 file\(s\) checked/,
    );
  });

  it("refuses to sign an encrypted key without --passphrase-fd, as a usage error", async () => {
    const r = await run([
      "sign",
      "--manifest",
      p("manifest.json"),
      "--key",
      p("alice.key"),
      "--cert",
      p("alice.pem"),
      "--out",
      p("x.json"),
    ]);
    assert.ok(r.error instanceof UsageError);
    assert.match(r.error.message, /--passphrase-fd/);
  });

  it("refuses to sign with a certificate without codeSigning, saying how to get one", async () => {
    const r = await run([
      "sign",
      "--manifest",
      p("manifest.json"),
      "--key",
      p("service.key"),
      "--cert",
      p("service.pem"),
      "--out",
      p("x.json"),
    ]);
    assert.match(r.error?.message ?? "", /not a software-signing certificate.*pki sign --kind software/);
  });

  it("refuses to sign when a file differs from the manifest, naming the file", async () => {
    const r = await signWithPassphrase(p("x.json"), ["--files-dir", p("files-bad")]);
    assert.match(r.error?.message ?? "", /"share\/schema\.sql" has sha256/);
  });

  it("refuses to sign when a file's size differs from the manifest, before hashing it", async () => {
    fs.cpSync(p("files"), p("files-long"), { recursive: true });
    fs.appendFileSync(p("files-long/bin/server"), "# more\n");
    const r = await signWithPassphrase(p("x.json"), ["--files-dir", p("files-long")]);
    assert.match(r.error?.message ?? "", /"bin\/server" is 37 bytes, the manifest says 30/);
  });

  it("verify refuses an authorisation list naming signers by common name, saying how to migrate", async () => {
    await signWithPassphrase(p("cn.json"));
    const r = await run(["verify", "--root", p("root.pem"), "--authorised", p("auth-cn.json"), p("cn.json")]);
    assert.match(
      r.error?.message ?? "",
      /auth-cn\.json: signers\[0\]\.commonName: .*"identity": .*dc1\/software\/alice/,
    );
  });

  it("refuses to sign a manifest whose program runs as root, naming the field", async () => {
    fs.writeFileSync(
      p("root-manifest.json"),
      JSON.stringify(baseManifest({ programs: [{ name: "p", command: "x", user: "root" }] })),
    );
    const r = await run([
      "sign",
      "--manifest",
      p("root-manifest.json"),
      "--key",
      p("alice-plain.key"),
      "--cert",
      p("alice.pem"),
      "--out",
      p("x.json"),
    ]);
    assert.match(r.error?.message ?? "", /manifest\.programs\[0\]\.user/);
  });

  it("verify exits 1 with the reason for a tampered file and for a rollback", async () => {
    const tampered = await verify(p("signed.json"), ["--files-dir", p("files-bad")]);
    assert.equal(tampered.error?.exitCode, 1);
    assert.match(tampered.error?.message ?? "", /refused \(file-digest-mismatch\).*share\/schema\.sql/);
    const rollback = await verify(p("signed.json"), ["--last-version", "11.0.0"]);
    assert.match(rollback.error?.message ?? "", /refused \(rollback\)/);
  });

  it("verify exits 1 with bad-signature for a tampered manifest", async () => {
    const doc = JSON.parse(fs.readFileSync(p("signed.json"), "utf8")) as { manifest: { holdsData: boolean } };
    doc.manifest.holdsData = false;
    fs.writeFileSync(p("tampered.json"), JSON.stringify(doc));
    assert.match((await verify(p("tampered.json"))).error?.message ?? "", /refused \(bad-signature\)/);
  });

  it("verify refuses a malformed --last-version as a usage error", async () => {
    assert.ok((await verify(p("signed.json"), ["--last-version", "ten"])).error instanceof UsageError);
  });

  it("digest prints manifest file entries relative to --base", async () => {
    const r = await run(["digest", "--base", p("files"), p("files/bin/server")]);
    assert.equal(r.error, undefined, r.error?.message);
    const [entry] = JSON.parse(r.out) as { path: string; sha256: string; size: number }[];
    assert.deepEqual(
      entry,
      baseManifest().files.find((f) => f.path === "bin/server"),
    );
  });
});
