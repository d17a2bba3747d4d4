/**
 * The one SSH deny list: the image build (spec validation, the rootfs check) and the `no-ssh` rule
 * (desired state and live hosts) must judge every package name the same way.
 */
import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  HardeningSpecError,
  SSH_DENIED_PACKAGES,
  checkRootfs,
  forbiddenReason,
  resolveHardenedImageSpec,
} from "../../../lib/hardening";
import { hostViewFromObserved, hostViewOfImage, noSsh, runRule } from "../../../lib/rules";
import { image, record } from "../rules/fixtures";

/** Package name → whether a no-SSH platform denies it (why: docs/hardening.md). */
const VERDICTS: [string, boolean][] = [
  ["openssh-server", true],
  ["openssh-client", true],
  ["openssh-sftp-server", true],
  ["ssh", true],
  ["mosh", true],
  ["libssh-server4", true],
  ["dropbear", true],
  ["dropbear-bin", true],
  ["dropbear-initramfs", true],
  ["tinysshd", true],
  ["lsh-server", true],
  ["task-ssh-server", true],
  ["ssh-import-id", true],
  ["autossh", true],
  ["sshpass", true],
  ["sshfs", true],
  ["endlessh", true],
  // Libraries start no session by themselves; libcurl4 depends on libssh2-1.
  ["libssh-4", false],
  ["libssh2-1", false],
  ["libssh-gcrypt-4", false],
  ["openssl", false],
  ["curl", false],
  ["procps", false],
  ["libconfig-model-openssh-perl", false],
];

/** The image build's verdict: does the hardened-image spec refuse the package? */
function buildRefuses(pkg: string): boolean {
  try {
    resolveHardenedImageSpec({ extraPackages: [pkg] });
    return false;
  } catch (e) {
    if (!(e instanceof HardeningSpecError)) throw e;
    assert.equal(e.issues.length, 1, e.message);
    assert.match(e.issues[0].fix, /remove it: /);
    return true;
  }
}

/** The rule's verdict, over an image's desired state and over a live host's dpkg list. */
function ruleFlags(pkg: string): { image: boolean; host: boolean } {
  const img = runRule(noSsh, hostViewOfImage(record("HardenedImage", "img", { ...image, packages: [pkg] })));
  const host = runRule(noSsh, hostViewFromObserved({ hostId: "dc1-s01", packages: [`${pkg}:amd64`] }));
  return { image: img.length > 0, host: host.length > 0 };
}

/** The rootfs check's verdict: a package dpkg reports installed. */
function rootfsFlags(pkg: string): boolean {
  const root = mkdtempSync(join(tmpdir(), "zr-ssh-deny-"));
  mkdirSync(join(root, "var/lib/dpkg"), { recursive: true });
  writeFileSync(join(root, "var/lib/dpkg/status"), `Package: ${pkg}\nStatus: install ok installed\n`);
  for (const f of ["etc/passwd", "etc/shadow"]) {
    mkdirSync(join(root, "etc"), { recursive: true });
    writeFileSync(join(root, f), "");
  }
  const spec = { ...resolveHardenedImageSpec(), packages: [] };
  return checkRootfs(root, spec).some((f) => f.id === "forbidden-package");
}

describe("the one SSH deny list", () => {
  for (const [pkg, denied] of VERDICTS) {
    it(`${denied ? "denies" : "allows"} ${pkg} alike in the image build, the rootfs check and the no-ssh rule`, () => {
      assert.equal(forbiddenReason(pkg) !== undefined, denied, "forbiddenReason");
      assert.equal(buildRefuses(pkg), denied, "image build");
      assert.equal(rootfsFlags(pkg), denied, "rootfs check");
      assert.deepEqual(ruleFlags(pkg), { image: denied, host: denied }, "no-ssh rule");
    });
  }

  it("is the no-ssh rule's default package list, pattern for pattern", () => {
    assert.deepEqual(
      noSsh.defaults.forbiddenPackages,
      SSH_DENIED_PACKAGES.map((d) => d.pattern),
    );
  });

  it("judges every pattern of the list the same way in both (a name made from each pattern)", () => {
    for (const { pattern } of SSH_DENIED_PACKAGES) {
      const name = pattern.replace(/\*/g, "x");
      assert.ok(forbiddenReason(name), `image build allows ${name}`);
      assert.ok(ruleFlags(name).image, `no-ssh allows ${name}`);
    }
  });
});
