import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "../../../agents/node/atomic";

describe("agent: files are written atomically, by one helper", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-atomic-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes the content with the mode asked (whatever the umask), creating folders, leaving no temporary file", () => {
    const file = path.join(dir, "a", "b", "state.json");
    const umask = process.umask(0o077);
    try {
      writeFileAtomic(file, "one", 0o644);
    } finally {
      process.umask(umask);
    }
    assert.equal(fs.readFileSync(file, "utf8"), "one");
    assert.equal(fs.statSync(file).mode & 0o777, 0o644);
    writeFileAtomic(file, "two", 0o600);
    assert.equal(fs.readFileSync(file, "utf8"), "two");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ["state.json"]);
  });

  it("replaces a symbolic link at the target instead of writing through it", () => {
    const outside = path.join(dir, "outside");
    fs.writeFileSync(outside, "keep");
    const file = path.join(dir, "conf");
    fs.symlinkSync(outside, file);
    writeFileAtomic(file, "new", 0o640);
    assert.equal(fs.readFileSync(outside, "utf8"), "keep");
    assert.equal(fs.lstatSync(file).isSymbolicLink(), false);
    assert.equal(fs.readFileSync(file, "utf8"), "new");
  });

  it("is the only way agents/node writes or renames a file", () => {
    const root = path.join(__dirname, "..", "..", "..", "agents", "node");
    const offenders = fs
      .readdirSync(root)
      .filter((f) => f.endsWith(".ts") && f !== "atomic.ts")
      .filter((f) =>
        /\b(writeFileSync|writeSync|appendFileSync|createWriteStream|renameSync)\b/.test(
          fs.readFileSync(path.join(root, f), "utf8"),
        ),
      );
    // store.ts renames only to set a refused state file aside (evidence), never to write state
    assert.deepEqual(offenders, ["store.ts"]);
    assert.doesNotMatch(fs.readFileSync(path.join(root, "store.ts"), "utf8"), /writeFileSync|writeSync/);
  });
});
