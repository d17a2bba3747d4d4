/**
 * cli/main.ts run(): the whole `zeroroot` command as a function. It returns the exit code, writes
 * only through the io it is given, reads prompts from the given stdin, and leaves the process as
 * it found it (exit code, streams), so in-process runs do not leak into each other.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run } from "../../../cli/main";
import { UsageError } from "../../../cli/errors";
import { FD, fakeTerminal, runCli } from "../../helpers/cli";
import { REPO_ROOT, copyExampleStacks } from "../../helpers/cli-process";

describe("zeroroot run(argv, io)", () => {
  it("returns a failed check's exit code without leaking it into the process or the next run", async () => {
    const dir = copyExampleStacks("zr-run-");
    const file = path.join(dir, "Pulumi.dc1.yaml");
    fs.writeFileSync(
      file,
      fs.readFileSync(file, "utf8").replace("minimumPersistence: 30d", "minimumPersistence: soon"),
    );
    const before = process.exitCode;
    const failed = await runCli(["fleet", "validate", "--file", file], { cwd: dir });
    assert.equal(failed.code, 1, failed.out + failed.err);
    assert.equal(process.exitCode, before, "the process exit code is untouched");
    const next = await runCli(["fleet", "validate", "--stack", "dc1"], { cwd: REPO_ROOT });
    assert.equal(next.code, 0, next.out + next.err);
  });

  it("hands the caller's own process.exitCode back after a run", async () => {
    const saved = process.exitCode;
    process.exitCode = 5;
    try {
      assert.equal((await runCli(["fleet", "validate", "--stack", "dc9"], { cwd: REPO_ROOT })).code, 2);
      assert.equal(process.exitCode, 5);
    } finally {
      process.exitCode = saved;
    }
  });

  it("writes output, usage errors and help only through io, and restores the process streams", async () => {
    const write = process.stdout.write;
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) };
    assert.equal(await run(["--help"], io), 0);
    assert.match(out.join(""), /Usage: zeroroot/);
    assert.equal(await run(["fleet", "validate", "--stak", "dc1"], io), 2);
    assert.match(err.join(""), /unknown option '--stak'[\s\S]*run with --help/);
    assert.equal(process.stdout.write, write);
  });

  it("prints a user error as one line without a stack trace and hands it to onUserError", async () => {
    const r = await runCli(["policy", "check", "--all", "--format", "xml"], { cwd: REPO_ROOT });
    assert.equal(r.code, 2);
    assert.ok(r.error instanceof UsageError);
    assert.equal(r.err, "zeroroot: --format xml: allowed: text, json, sarif\n");
  });

  it("refuses a second in-process run while one is active (they share the process streams)", async () => {
    const first = runCli(["fleet", "validate", "--stack", "dc1"], { cwd: REPO_ROOT });
    await assert.rejects(runCli(["--help"]), /another in-process run is active/);
    assert.equal((await first).code, 0);
  });

  describe("passphrases", () => {
    let work: string;
    let key: string;
    before(async () => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), "zr-run-pass-"));
      key = path.join(work, "a.key");
      const csr = ["pki", "csr", "--name", "alice", "--key-out", key, "--csr-out", path.join(work, "a.csr")];
      assert.equal((await runCli(csr)).code, 0);
    });
    const exportEncrypted = (out: string, extra: string[], opts = {}) =>
      runCli(
        [
          "pki",
          "export",
          "--format",
          "pkcs8",
          "--encrypt",
          "--key",
          key,
          "--out",
          path.join(work, out),
          ...extra,
        ],
        opts,
      );

    it("reads one from the file descriptor given by --passphrase-fd", async () => {
      const r = await exportEncrypted("fd.p8", ["--passphrase-fd", FD], { fd: "from a descriptor\n" });
      assert.equal(r.code, 0, r.err);
      assert.match(fs.readFileSync(path.join(work, "fd.p8"), "utf8"), /BEGIN ENCRYPTED PRIVATE KEY/);
    });

    it("refuses to prompt when stdin is not a terminal, saying to pass --passphrase-fd", async () => {
      const r = await exportEncrypted("none.p8", []);
      assert.equal(r.code, 2);
      assert.match(r.err, /no terminal to prompt .*--passphrase-fd/);
    });

    it("prompts twice on a terminal, without echo, and refuses two different answers", async () => {
      const same = await exportEncrypted("tty.p8", [], {
        stdin: fakeTerminal("typed twice\n", "typed twice\n"),
      });
      assert.equal(same.code, 0, same.err);
      assert.doesNotMatch(same.out + same.err, /typed twice/, "the passphrase is not echoed");
      const differ = await exportEncrypted("differ.p8", [], { stdin: fakeTerminal("one\n", "two\n") });
      assert.equal(differ.code, 1);
      assert.match(differ.err, /differ/);
      assert.equal(fs.existsSync(path.join(work, "differ.p8")), false);
    });
  });
});
