import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  directoryFileSource,
  parseAuthorisationList,
  signRelease,
  verifyRelease,
  type ReleaseVerification,
  type SignedRelease,
} from "../../../lib/release";
import { FILES, baseManifest, makeHierarchy, type Hierarchy } from "./fixtures";

describe("release files on disk (sizes before digests, no links)", function () {
  this.timeout(30_000);
  let h: Hierarchy;
  let signed: SignedRelease;
  let dir: string;
  const auth = parseAuthorisationList({ signers: [{ identity: "dc1/software/alice", releases: ["*"] }] });
  const verify = (d = dir): ReleaseVerification =>
    verifyRelease(signed, { root: h.rootPem, authorisation: auth, files: directoryFileSource(d) });
  const refusal = (r: ReleaseVerification) => (r.ok ? "accepted" : r.reason);

  before(() => {
    h = makeHierarchy();
    signed = signRelease(baseManifest(), h.alice);
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-release-files-"));
    for (const [rel, content] of Object.entries(FILES)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), content);
    }
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("accepts the release's files as they are", () => assert.equal(refusal(verify()), "accepted"));

  it("refuses an 8 GiB file listed as 30 bytes by its size, in well under a second, without hashing it", () => {
    const file = path.join(dir, "bin/server");
    // A sparse file, as `truncate -s 8G` makes it: 8 GiB long, nothing written.
    fs.truncateSync(file, 8 * 1024 ** 3);
    assert.equal(fs.statSync(file).size, 8 * 1024 ** 3);
    const start = process.hrtime.bigint();
    const r = verify();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.equal(refusal(r), "file-size-mismatch");
    assert.equal(!r.ok && r.file, "bin/server");
    assert.match(!r.ok ? r.detail : "", /8589934592 bytes; the manifest says 30 \(not hashed\)/);
    assert.ok(ms < 500, `took ${ms} ms`);
  });

  it("refuses a file of the right size with other bytes by its digest", () => {
    fs.writeFileSync(path.join(dir, "bin/server"), FILES["bin/server"].replace("sleep", "sleeq"));
    assert.equal(refusal(verify()), "file-digest-mismatch");
  });

  it("refuses a file that is a symbolic link, even to identical content", () => {
    const outside = path.join(dir, "..", `${path.basename(dir)}-outside`);
    fs.writeFileSync(outside, FILES["bin/server"]);
    fs.rmSync(path.join(dir, "bin/server"));
    fs.symlinkSync(outside, path.join(dir, "bin/server"));
    try {
      assert.equal(refusal(verify()), "file-missing");
    } finally {
      fs.rmSync(outside);
    }
  });

  it("refuses a file reached through a symbolically linked folder", () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "zr-release-outside-"));
    fs.writeFileSync(path.join(outside, "server"), FILES["bin/server"]);
    fs.rmSync(path.join(dir, "bin"), { recursive: true });
    fs.symlinkSync(outside, path.join(dir, "bin"));
    try {
      assert.equal(refusal(verify()), "file-missing");
    } finally {
      fs.rmSync(outside, { recursive: true });
    }
  });

  it("refuses a folder where the manifest lists a file", () => {
    fs.rmSync(path.join(dir, "share/schema.sql"));
    fs.mkdirSync(path.join(dir, "share/schema.sql"));
    assert.equal(refusal(verify()), "file-missing");
  });
});
