/**
 * checkRootfs over a small fake rootfs (no root needed): a compliant baseline with no finding, then
 * one change per test and the one finding it must cause.
 */
import { strict as assert } from "node:assert";
import { copyFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  checkRootfs,
  CheckId,
  renderedTuningFiles,
  renderNftablesRuleset,
  renderSupervisordConf,
  resolveHardenedImageSpec,
  supervisorDir,
} from "../../../lib/hardening";
import { applyLoginDefs } from "../../../lib/hardening/tuning";

const repo = join(__dirname, "../../..");
const spec = resolveHardenedImageSpec();
const uid = process.getuid?.() ?? 0;
// Ownership of the supervisor directory can only be the test's own uid without root.
const testSpec = uid === 0 ? spec : { ...spec, users: spec.users.map((u) => ({ ...u, uid })) };

function put(root: string, path: string, content: string, mode = 0o644) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
  chmodSync(join(root, path), mode);
}

function baseline(): string {
  const root = mkdtempSync(join(tmpdir(), "zr-rootfs-"));
  const status = [...testSpec.packages, "bash"]
    .map((p) => `Package: ${p}\nStatus: install ok installed\nVersion: 1\n`)
    .join("\n");
  put(root, "var/lib/dpkg/status", status);
  const users = testSpec.users
    .map((u) => `${u.name}:x:${u.uid}:${u.uid}::${u.home}:/usr/sbin/nologin\n`)
    .join("");
  put(root, "etc/passwd", `root:x:0:0:root:/root:/usr/sbin/nologin\n${users}`);
  put(
    root,
    "etc/shadow",
    `root:!*:20000:0:99999:7:::\n${testSpec.users.map((u) => `${u.name}:!:20000::::::\n`).join("")}`,
    0o640,
  );
  put(root, "etc/nftables.conf", renderNftablesRuleset(testSpec.firewall));
  put(root, "etc/login.defs", applyLoginDefs("UMASK 022\n", testSpec.loginDefs));
  for (const u of testSpec.users) {
    put(root, `${supervisorDir(u)}/supervisord.conf`, renderSupervisordConf(u), 0o600);
    chownSync(join(root, supervisorDir(u)), u.uid, u.uid);
  }
  for (const f of testSpec.files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    copyFileSync(join(repo, f.source), join(root, f.path));
  }
  for (const [path, content] of renderedTuningFiles(testSpec)) put(root, path.slice(1), content);
  put(root, "usr/bin/ls", "binary", 0o755);
  put(root, "usr/bin/ld.so", "the dynamic loader, not a linker", 0o755);
  return root;
}

describe("checkRootfs", () => {
  const roots: string[] = [];
  const make = () => {
    const r = baseline();
    roots.push(r);
    return r;
  };
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
  const ids = (root: string): CheckId[] => checkRootfs(root, testSpec).map((f) => f.id);

  it("finds nothing in a compliant rootfs", () => {
    assert.deepEqual(checkRootfs(make(), testSpec), []);
  });

  it("finds a private key in /etc/ssl/private (one key shared by every server of the image)", () => {
    const r = make();
    put(r, "etc/ssl/private/ssl-cert-snakeoil.key", "-----BEGIN PRIVATE KEY-----\n", 0o640);
    assert.deepEqual(ids(r), ["private-key"]);
  });

  it("finds a path the role spec removes (Debian's default cluster) left in the image", () => {
    const storage = { ...testSpec, removedPaths: ["/var/lib/postgresql/15/main"] };
    const r = make();
    assert.deepEqual(checkRootfs(r, storage), []);
    put(r, "var/lib/postgresql/15/main/PG_VERSION", "15\n");
    assert.deepEqual(
      checkRootfs(r, storage).map((f) => f.id),
      ["removed-path"],
    );
  });

  it("finds an installed openssh-server in dpkg's status", () => {
    const r = make();
    put(
      r,
      "var/lib/dpkg/status",
      `Package: openssh-server\nStatus: install ok installed\n\n${[...testSpec.packages].map((p) => `Package: ${p}\nStatus: install ok installed\n`).join("\n")}`,
    );
    assert.deepEqual(ids(r), ["forbidden-package"]);
  });

  it("ignores a forbidden package that was removed (config-files only)", () => {
    const r = make();
    put(
      r,
      "var/lib/dpkg/status",
      `Package: openssh-server\nStatus: deinstall ok config-files\n\n${[...testSpec.packages].map((p) => `Package: ${p}\nStatus: install ok installed\n`).join("\n")}`,
    );
    assert.deepEqual(ids(r), []);
  });

  it("finds a spec package that is missing", () => {
    const r = make();
    put(
      r,
      "var/lib/dpkg/status",
      testSpec.packages
        .filter((p) => p !== "nftables")
        .map((p) => `Package: ${p}\nStatus: install ok installed\n`)
        .join("\n"),
    );
    assert.deepEqual(ids(r), ["missing-package"]);
  });

  for (const bin of [
    "usr/sbin/sshd",
    "usr/lib/openssh/sshd-session",
    "usr/sbin/dropbear",
    "usr/bin/ssh",
    "usr/bin/sudo",
    "usr/sbin/in.telnetd",
  ]) {
    it(`finds a remote-login or escalation executable that dpkg does not know: /${bin}`, () => {
      const r = make();
      put(r, bin, "x", 0o755);
      assert.deepEqual(ids(r), ["remote-login-executable"]);
    });
  }

  it("finds an sshd configuration", () => {
    const r = make();
    put(r, "etc/ssh/sshd_config", "PermitRootLogin yes\n");
    assert.deepEqual(ids(r), ["ssh-config"]);
  });

  it("finds a root account with a usable password, and one with an empty password", () => {
    const r = make();
    put(
      r,
      "etc/shadow",
      `root:$y$j9T$abc:20000:0:99999:7:::\n${testSpec.users.map((u) => `${u.name}:!:20000::::::\n`).join("")}`,
    );
    assert.deepEqual(ids(r), ["root-not-locked"]);
    put(
      r,
      "etc/shadow",
      `root::20000:0:99999:7:::\n${testSpec.users.map((u) => `${u.name}:!:20000::::::\n`).join("")}`,
    );
    assert.deepEqual(ids(r).sort(), ["empty-password", "root-not-locked"]);
  });

  it("finds root with a login shell and a second uid 0 account", () => {
    const r = make();
    const users = testSpec.users
      .map((u) => `${u.name}:x:${u.uid}:${u.uid}::${u.home}:/usr/sbin/nologin\n`)
      .join("");
    put(r, "etc/passwd", `root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/:/usr/sbin/nologin\n${users}`);
    assert.deepEqual(ids(r).sort(), ["extra-uid-0", "root-shell"]);
  });

  it("finds a platform user with the wrong uid, and a missing one", () => {
    const r = make();
    put(
      r,
      "etc/passwd",
      `root:x:0:0:root:/root:/usr/sbin/nologin\nzr-agent:x:1001:1001::/var/lib/zeroroot/zr-agent:/usr/sbin/nologin\n`,
    );
    assert.ok(ids(r).includes("platform-user"));
    put(r, "etc/passwd", `root:x:0:0:root:/root:/usr/sbin/nologin\n`);
    assert.ok(checkRootfs(r, testSpec).some((f) => f.id === "platform-user" && /missing/.test(f.message)));
  });

  it("finds a firewall that accepts by default, one that opens 22, and a missing one", () => {
    const r = make();
    put(
      r,
      "etc/nftables.conf",
      renderNftablesRuleset(testSpec.firewall).replace("policy drop;", "policy accept;"),
    );
    assert.ok(checkRootfs(r, testSpec).some((f) => f.id === "firewall" && /not drop/.test(f.message)));
    put(
      r,
      "etc/nftables.conf",
      renderNftablesRuleset(testSpec.firewall).replace(
        'iif "lo" accept',
        'iif "lo" accept\n    tcp dport 22 accept',
      ),
    );
    assert.ok(checkRootfs(r, testSpec).some((f) => f.id === "firewall" && /22/.test(f.message)));
    rmSync(join(r, "etc/nftables.conf"));
    assert.deepEqual(ids(r), ["firewall"]);
  });

  it("finds a setuid binary", () => {
    const r = make();
    chmodSync(join(r, "usr/bin/ls"), 0o4755);
    assert.deepEqual(ids(r), ["setuid"]);
  });

  it("finds a PID 1 that differs from the spec", () => {
    const r = make();
    put(r, spec.files[0].path.slice(1), "#!/bin/sh\nexec sshd\n", 0o755);
    assert.deepEqual(ids(r), ["init"]);
  });

  for (const bin of [
    "usr/bin/gcc",
    "usr/bin/x86_64-linux-gnu-gcc-12",
    "usr/bin/cc",
    "usr/bin/as",
    "usr/local/bin/tcc",
  ]) {
    it(`finds a compiler, assembler or linker however it got there: /${bin}`, () => {
      const r = make();
      put(r, bin, "x", 0o755);
      assert.deepEqual(ids(r), ["compiler"]);
    });
  }

  it("finds a package the spec keeps out (usrmerge, which pulls in the full Perl)", () => {
    const r = make();
    const status = [...testSpec.packages, "usrmerge"]
      .map((p) => `Package: ${p}\nStatus: install ok installed\nVersion: 1\n`)
      .join("\n");
    put(r, "var/lib/dpkg/status", status);
    assert.deepEqual(ids(r), ["unwanted-package"]);
  });

  for (const [path, what] of [
    ["etc/sysctl.d/90-zeroroot.conf", "the sysctl settings"],
    ["etc/modprobe.d/zeroroot.conf", "the module blacklist"],
    ["etc/profile.d/zeroroot.sh", "the shell profile"],
    ["etc/issue", "the banner"],
  ]) {
    it(`finds ${what} edited or missing (${path})`, () => {
      const r = make();
      put(r, path, "# emptied\n");
      assert.deepEqual(ids(r), ["tuning"]);
      rmSync(join(r, path));
      assert.deepEqual(ids(r), ["tuning"]);
    });
  }

  it("finds a crontab other users can read, and accepts one only root can", () => {
    const r = make();
    put(r, "etc/crontab", "* * * * * root true\n", 0o644);
    assert.deepEqual(ids(r), ["file-mode"]);
    chmodSync(join(r, "etc/crontab"), 0o600);
    assert.deepEqual(ids(r), []);
    mkdirSync(join(r, "etc/cron.d"), { mode: 0o755 });
    chmodSync(join(r, "etc/cron.d"), 0o755);
    assert.deepEqual(ids(r), ["file-mode"]);
  });

  it("finds a supervisord config that differs from the spec", () => {
    const r = make();
    put(
      r,
      `${supervisorDir(testSpec.users[0])}/supervisord.conf`.slice(1),
      "[supervisord]\nuser=root\n",
      0o600,
    );
    assert.deepEqual(ids(r), ["supervisord-config"]);
  });
});
