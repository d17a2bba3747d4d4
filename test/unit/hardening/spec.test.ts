import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  forbiddenReason,
  HardeningSpecError,
  programsOf,
  renderInitConfig,
  renderNftablesRuleset,
  renderSupervisordConf,
  resolveHardenedImageSpec,
  specHash,
  toHardenedImageInputs,
  HardenedImageSpec,
} from "../../../lib/hardening";
import { applyLoginDefs, parseLoginDefs } from "../../../lib/hardening/tuning";

const repo = join(__dirname, "../../..");

function refused(fn: () => unknown): HardeningSpecError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof HardeningSpecError, `expected HardeningSpecError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected the spec to be refused");
}

describe("hardening spec", () => {
  it("has the base packages, a locked root, no remote root and a default-deny firewall by default", () => {
    const spec = resolveHardenedImageSpec();
    for (const p of ["supervisor", "python3", "ca-certificates", "nftables", "iproute2", "passwd", "nodejs"])
      assert.ok(spec.packages.includes(p), p);
    assert.equal(spec.rootLocked, true);
    assert.equal(spec.remoteRootLogin, false);
    assert.equal(spec.firewall.inputPolicy, "drop");
    assert.deepEqual(spec.firewall.allowedTcpPorts, []);
  });

  it("runs the agent as zr-agent with uid 2000 under its own supervisord", () => {
    const spec = resolveHardenedImageSpec({ agentCommand: "/usr/bin/node /opt/zeroroot/agent.js" });
    assert.deepEqual(
      spec.users.map((u) => [u.name, u.uid]),
      [["zr-agent", 2000]],
    );
    const progs = programsOf(spec);
    assert.deepEqual(
      progs.map((p) => [p.name, p.user, p.uid, p.capabilities.length, p.noNewPrivileges]),
      [
        ["supervisord-zr-agent", "zr-agent", 2000, 0, true],
        ["zr-agent", "zr-agent", 2000, 0, true],
      ],
    );
    assert.equal(progs[1].command, "/usr/bin/node /opt/zeroroot/agent.js");
  });

  it("produces the HardenedImageInputs contract with the spec hash", () => {
    const spec = resolveHardenedImageSpec({ allowedTcpPorts: [8443] });
    const inputs = toHardenedImageInputs(spec, "dc1");
    assert.equal(inputs.dataCenter, "dc1");
    assert.equal(inputs.specHash, specHash(spec));
    assert.deepEqual(inputs.firewall, { inputPolicy: "drop", allowedTcpPorts: [8443], allowedUdpPorts: [] });
    assert.deepEqual(inputs.users, [{ name: "zr-agent", uid: 2000 }]);
    assert.ok(inputs.programs.every((p) => p.user !== "root" && p.uid >= 2000));
  });

  describe("spec hash", () => {
    it("is a stable hex SHA-256, equal for equal arguments whatever their order", () => {
      const a = resolveHardenedImageSpec({
        extraPackages: ["procps", "curl"],
        allowedTcpPorts: [9000, 8443],
      });
      const b = resolveHardenedImageSpec({
        allowedTcpPorts: [8443, 9000],
        extraPackages: ["curl", "procps"],
      });
      assert.match(specHash(a), /^[0-9a-f]{64}$/);
      assert.equal(specHash(a), specHash(b));
      assert.equal(specHash(resolveHardenedImageSpec()), specHash(resolveHardenedImageSpec()));
    });

    it("is the same for every data center (one image, one cache entry)", () => {
      const spec = resolveHardenedImageSpec();
      assert.equal(toHardenedImageInputs(spec, "dc1").specHash, toHardenedImageInputs(spec, "dc3").specHash);
    });

    const base = specHash(resolveHardenedImageSpec());
    const variants: [string, Parameters<typeof resolveHardenedImageSpec>[0]][] = [
      ["a package", { extraPackages: ["procps"] }],
      ["a TCP port", { allowedTcpPorts: [8443] }],
      ["a UDP port", { allowedUdpPorts: [4789] }],
      ["ICMP echo", { allowIcmpEcho: false }],
      ["the agent command", { agentCommand: "/usr/bin/node /opt/agent.js" }],
      ["a platform user", { extraUsers: [{ name: "zr-p1", uid: 2001 }] }],
    ];
    for (const [what, args] of variants) {
      it(`changes with ${what}`, () => assert.notEqual(specHash(resolveHardenedImageSpec(args)), base));
    }

    it("changes when a shipped file (PID 1) changes", () => {
      const spec = resolveHardenedImageSpec();
      const edited: HardenedImageSpec = {
        ...spec,
        files: spec.files.map((f, i) => (i === 0 ? { ...f, sha256: "0".repeat(64) } : f)),
      };
      assert.notEqual(specHash(edited), specHash(spec));
    });
  });

  it("ships PID 1 and the placeholder agent with the digests the spec records (update SHIPPED_FILES when editing agents/init)", () => {
    for (const f of resolveHardenedImageSpec().files) {
      const actual = createHash("sha256")
        .update(readFileSync(join(repo, f.source)))
        .digest("hex");
      assert.equal(actual, f.sha256, `${f.source}: update SHIPPED_FILES in lib/hardening/spec.ts`);
    }
  });

  describe("validation", () => {
    const forbidden = [
      "openssh-server",
      "openssh-client",
      "openssh-sftp-server",
      "ssh",
      "dropbear",
      "dropbear-bin",
      "tinysshd",
      "telnetd",
      "inetutils-telnetd",
      "rsh-server",
      "openbsd-inetd",
      "xinetd",
      "sudo",
      "mysshd-fork",
      "gcc",
      "build-essential",
      "binutils",
      "clang",
    ];
    for (const pkg of forbidden) {
      it(`refuses the forbidden package ${pkg}, naming where and why`, () => {
        const e = refused(() => resolveHardenedImageSpec({ extraPackages: ["curl", pkg] }));
        assert.equal(e.issues.length, 1);
        assert.equal(e.issues[0].path, "extraPackages[1]");
        assert.equal(e.issues[0].received, pkg);
        assert.match(e.message, /extraPackages\[1\]/);
      });
    }

    it("allows ordinary packages whose names merely contain ssh-like or compiler-like letters", () => {
      for (const p of ["libssh2-1", "procps", "curl", "libsasl2-2", "gcc-12-base", "libgcc-s1"])
        assert.equal(forbiddenReason(p), undefined, p);
      assert.doesNotThrow(() => resolveHardenedImageSpec({ extraPackages: ["procps", "libssh2-1"] }));
    });

    for (const port of [22, 23, 513, 514]) {
      it(`refuses to open remote-login port ${port}`, () => {
        const e = refused(() => resolveHardenedImageSpec({ allowedTcpPorts: [8443, port] }));
        assert.equal(e.issues[0].path, "allowedTcpPorts[1]");
      });
    }

    it("refuses ports out of range and non-integers", () => {
      const e = refused(() =>
        resolveHardenedImageSpec({ allowedTcpPorts: [0, 70000], allowedUdpPorts: [1.5] }),
      );
      assert.deepEqual(
        e.issues.map((i) => i.path),
        ["allowedTcpPorts[0]", "allowedTcpPorts[1]", "allowedUdpPorts[0]"],
      );
    });

    it("refuses platform users below uid 2000, named root, or clashing with zr-agent", () => {
      const e = refused(() =>
        resolveHardenedImageSpec({
          extraUsers: [
            { name: "svc", uid: 1000 },
            { name: "root", uid: 2005 },
            { name: "zr-agent", uid: 2006 },
            { name: "zr-p1", uid: 2000 },
          ],
        }),
      );
      const paths = e.issues.map((i) => i.path);
      assert.ok(paths.includes("extraUsers[0].uid"), paths.join());
      assert.ok(paths.includes("extraUsers[1].name"), paths.join());
      assert.ok(paths.includes("extraUsers[2].name"), paths.join());
      assert.ok(paths.includes("extraUsers[3].uid"), paths.join());
    });

    it("refuses a multi-line agent command", () => {
      const e = refused(() => resolveHardenedImageSpec({ agentCommand: "a\nb" }));
      assert.equal(e.issues[0].path, "agentCommand");
    });
  });
});

describe("nftables ruleset", () => {
  const rules = (args: Parameters<typeof resolveHardenedImageSpec>[0] = {}) =>
    renderNftablesRuleset(resolveHardenedImageSpec(args).firewall);

  it("drops input and forward by default and accepts loopback and established traffic", () => {
    const r = rules();
    assert.match(r, /chain input \{\n\s+type filter hook input priority filter; policy drop;/);
    assert.match(r, /chain forward \{\n\s+type filter hook forward priority filter; policy drop;/);
    assert.match(r, /iif "lo" accept/);
    assert.match(r, /ct state established,related accept/);
    assert.match(r, /^flush ruleset$/m);
  });

  it("opens exactly the spec's ports", () => {
    const r = rules({ allowedTcpPorts: [8443, 2379], allowedUdpPorts: [4789] });
    assert.match(r, /tcp dport \{ 2379, 8443 \} ct state new accept/);
    assert.match(r, /udp dport \{ 4789 \} accept/);
    assert.doesNotMatch(rules(), /dport/);
  });

  it("never accepts port 22, even from a hand-built spec that bypassed the validator", () => {
    const spec = resolveHardenedImageSpec();
    const r = renderNftablesRuleset({ ...spec.firewall, allowedTcpPorts: [22, 8443], allowedUdpPorts: [22] });
    assert.doesNotMatch(r, /\b22\b/);
    assert.match(r, /tcp dport \{ 8443 \}/);
  });

  it("leaves ICMP echo out when disabled", () => {
    assert.doesNotMatch(rules({ allowIcmpEcho: false }), /echo-request/);
  });
});

describe("supervisord and init configuration", () => {
  const spec = resolveHardenedImageSpec({
    extraUsers: [{ name: "zr-p1", uid: 2001, programs: [{ name: "db", command: "/usr/bin/true" }] }],
  });

  it("keeps each user's supervisord socket, log and pid in that user's home, socket mode 0700", () => {
    const conf = renderSupervisordConf(spec.users[1]);
    assert.match(conf, /^file=\/var\/lib\/zeroroot\/zr-p1\/supervisor\/supervisor.sock$/m);
    assert.match(conf, /^chmod=0700$/m);
    assert.match(conf, /^logfile=\/var\/lib\/zeroroot\/zr-p1\/supervisor\/log\/supervisord.log$/m);
    assert.match(conf, /^pidfile=\/var\/lib\/zeroroot\/zr-p1\/supervisor\/supervisord.pid$/m);
    assert.match(conf, /^\[program:db\]\ncommand=\/usr\/bin\/true$/m);
    assert.doesNotMatch(conf, /^user=/m, "supervisord never switches user: it already is the user");
  });

  it("gives PID 1 one supervisord per platform user with its uid", () => {
    const init = renderInitConfig(spec);
    assert.deepEqual(
      init.supervisors.map((s) => [s.user, s.uid, s.gid]),
      [
        ["zr-agent", 2000, 2000],
        ["zr-p1", 2001, 2001],
      ],
    );
  });

  it("starts partition supervisords only on the agent's request, a socket only zr-agent may use", () => {
    const init = renderInitConfig(resolveHardenedImageSpec({ partitions: 2 }));
    assert.deepEqual(
      init.supervisors.map((s) => [s.user, s.onDemand]),
      [
        ["zr-agent", false],
        ["zr-p000", true],
        ["zr-p001", true],
      ],
    );
    assert.deepEqual(init.requests, {
      socket: "/run/zeroroot/init.sock",
      uid: 2000,
      gid: 2000,
      maxPerMinute: 120,
    });
  });
});

describe("login.defs", () => {
  it("replaces existing settings and appends missing ones", () => {
    const out = applyLoginDefs(
      "# comment\nUMASK\t\t022\nPASS_MAX_DAYS\t99999\n#SHA_CRYPT_MIN_ROUNDS 5000\n",
      { UMASK: "027", PASS_MAX_DAYS: "90", SHA_CRYPT_MIN_ROUNDS: "65536" },
    );
    assert.deepEqual(parseLoginDefs(out), {
      UMASK: "027",
      PASS_MAX_DAYS: "90",
      SHA_CRYPT_MIN_ROUNDS: "65536",
    });
    assert.match(out, /^# comment$/m);
  });
});
