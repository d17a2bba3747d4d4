/** The built hardened image, unpacked and inspected file by file (root). */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkRootfs, installedPackages, specHash } from "../../../lib/hardening";
import { buildImage, cachedImage, unpackImage } from "../../../lab/image";
import { run } from "../../../lab/image/exec";
import { labImage, labSpec, requireRoot } from "./fixture";

describe("hardened image (lab/image)", function () {
  this.timeout(300_000);
  let rootfs: string;
  let tmp: string;

  before(async () => {
    requireRoot();
    const image = await labImage();
    tmp = mkdtempSync(join(tmpdir(), "zr-image-test-"));
    rootfs = join(tmp, "rootfs");
    await unpackImage(image.path, rootfs);
  });
  after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  it("is cached under its spec hash, and a second build is a cache hit in about a second", async () => {
    const spec = labSpec();
    const image = await labImage();
    assert.equal(image.path.endsWith(`.zeroroot/cache/images/${specHash(spec)}.tar.zst`), true, image.path);
    const again = await buildImage(spec);
    assert.equal(again.cacheHit, true);
    assert.ok(again.seconds < 2, `cache hit took ${again.seconds} s`);
    assert.equal(cachedImage(spec)?.path, image.path);
  });

  it("records the archive's SHA-256 in its manifest (what the installer verifies)", async () => {
    const image = await labImage();
    assert.equal(createHash("sha256").update(readFileSync(image.path)).digest("hex"), image.manifest.sha256);
    assert.equal(image.manifest.specHash, specHash(labSpec()));
  });

  it("passes every check of its spec", () => {
    assert.deepEqual(checkRootfs(rootfs, labSpec()), []);
  });

  it("has no SSH package of any kind in dpkg's status, and every spec package", () => {
    const pkgs = [...installedPackages(rootfs).keys()];
    assert.deepEqual(
      pkgs.filter((p) => /ssh|dropbear|telnet|rsh-|inetd|^sudo$/.test(p) && p !== "libssh2-1"),
      [],
    );
    for (const p of labSpec().packages) assert.ok(pkgs.includes(p), p);
  });

  it("contains no sshd binary anywhere and no /etc/ssh", async () => {
    const found = (
      await run([
        "find",
        rootfs,
        "-xdev",
        "(",
        "-name",
        "*sshd*",
        "-o",
        "-name",
        "ssh",
        "-o",
        "-name",
        "dropbear*",
        ")",
        "-print",
      ])
    ).stdout.trim();
    assert.equal(found, "");
    assert.equal(existsSync(join(rootfs, "etc/ssh")), false);
  });

  it("locks root (shadow `!`) and gives it no login shell", () => {
    const root = readFileSync(join(rootfs, "etc/shadow"), "utf8")
      .split("\n")
      .find((l) => l.startsWith("root:"))!;
    assert.match(root.split(":")[1], /^!/);
    const passwd = readFileSync(join(rootfs, "etc/passwd"), "utf8");
    assert.match(passwd, /^root:x:0:0:[^:]*:\/root:\/usr\/sbin\/nologin$/m);
    assert.deepEqual(
      passwd
        .split("\n")
        .filter((l) => l.split(":")[2] === "0")
        .map((l) => l.split(":")[0]),
      ["root"],
    );
  });

  it("has zr-agent with uid and gid 2000, no password, no shell, owning its home", () => {
    assert.match(
      readFileSync(join(rootfs, "etc/passwd"), "utf8"),
      /^zr-agent:x:2000:2000::\/var\/lib\/zeroroot\/zr-agent:\/usr\/sbin\/nologin$/m,
    );
    assert.match(readFileSync(join(rootfs, "etc/shadow"), "utf8"), /^zr-agent:!/m);
    assert.equal(statSync(join(rootfs, "var/lib/zeroroot/zr-agent")).uid, 2000);
    assert.equal(statSync(join(rootfs, "var/lib/zeroroot/zr-agent/supervisor/supervisord.conf")).uid, 2000);
  });

  it("has no setuid or setgid file", async () => {
    const found = (
      await run(["find", rootfs, "-xdev", "-type", "f", "-perm", "/6000", "-print"])
    ).stdout.trim();
    assert.equal(found, "");
  });

  it("carries a default-deny nftables ruleset that nft accepts", async () => {
    const conf = readFileSync(join(rootfs, "etc/nftables.conf"), "utf8");
    assert.match(conf, /hook input priority filter; policy drop;/);
    assert.doesNotMatch(conf, /\b22\b/);
    const ns = `zrhard-${process.pid}-nftcheck`;
    await run(["ip", "netns", "add", ns]);
    try {
      await run(["ip", "netns", "exec", ns, "nft", "--check", "-f", join(rootfs, "etc/nftables.conf")]);
    } finally {
      await run(["ip", "netns", "del", ns]);
    }
  });

  it("runs Debian's Node.js (the agent's runtime) and ships PID 1", async () => {
    const v = (
      await run([
        "chroot",
        rootfs,
        "/usr/bin/env",
        "-i",
        "/usr/bin/node",
        "-e",
        "process.stdout.write(process.versions.node)",
      ])
    ).stdout;
    assert.match(v, /^18\./);
    await run([
      "chroot",
      rootfs,
      "/usr/bin/env",
      "-i",
      "/usr/bin/python3",
      "-c",
      "import ast; ast.parse(open('/usr/local/sbin/zr-init').read())",
    ]);
    assert.equal(statSync(join(rootfs, "usr/local/sbin/zr-init")).mode & 0o777, 0o755);
  });

  it("does not carry the build host's identity", () => {
    assert.equal(readFileSync(join(rootfs, "etc/hostname"), "utf8"), "localhost\n");
    assert.equal(readFileSync(join(rootfs, "etc/machine-id"), "utf8"), "");
  });
});
