import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { zeroroot } from "../../helpers/cli-process";
import { tempDir } from "../../unit/client-kit/fixture";

describe("./bin/zeroroot client kit as a process", function () {
  this.timeout(60_000);
  it("step 1 exits 0 and leaves a 0600 key; a hostile --user exits 2 with one line and no stack trace", () => {
    const parent = tempDir("bin");
    const ok = zeroroot([
      "client",
      "kit",
      "--user",
      "erin",
      "--dc",
      "dc1",
      "--out",
      path.join(parent, "kit"),
    ]);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(fs.statSync(path.join(parent, "kit", "erin.key")).mode & 0o777, 0o600);
    const bad = zeroroot([
      "client",
      "kit",
      "--user",
      "../erin",
      "--dc",
      "dc1",
      "--out",
      path.join(parent, "x"),
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^zeroroot: --user: name "\.\.\/erin" .* is not a plain name/);
    assert.doesNotMatch(bad.err, /\n\s+at /);
    assert.ok(!fs.existsSync(path.join(parent, "x")));
  });
});
