import { strict as assert } from "node:assert";
import {
  UNKNOWN,
  hostViewFromObserved,
  hostViewOfDesiredState,
  hostViewOfImage,
  noSsh,
  runRule,
} from "../../../lib/rules";
import { clone, desiredState, image, record } from "./fixtures";

const findings = (props: unknown) => runRule(noSsh, hostViewOfImage(record("HardenedImage", "img", props)));

describe("rule no-ssh", () => {
  it("passes the compliant image and desired state", () => {
    assert.deepEqual(findings(image), []);
    assert.deepEqual(runRule(noSsh, hostViewOfDesiredState(record("DesiredState", "ds", desiredState))), []);
  });

  const cases: [string, (p: ReturnType<typeof clone>) => void, string][] = [
    ["fails when openssh-server is installed", (p) => p.packages.push("openssh-server"), "packages"],
    ["fails when dropbear is installed", (p) => p.packages.push("dropbear-bin"), "packages"],
    ["fails when tinysshd is installed", (p) => p.packages.push("tinysshd"), "packages"],
    [
      "fails when a program runs sshd",
      (p) => p.programs.push({ ...p.programs[1], name: "remote", command: "/usr/sbin/sshd -D" }),
      "programs[2].command",
    ],
    [
      "fails when the firewall allows port 22",
      (p) => p.firewall.allowedTcpPorts.push(22),
      "firewall.allowedTcpPorts",
    ],
    [
      "fails when the firewall accepts by default",
      (p) => (p.firewall.inputPolicy = "accept"),
      "firewall.inputPolicy",
    ],
    ["fails when remote root login is on", (p) => (p.remoteRootLogin = true), "remoteRootLogin"],
  ];
  for (const [title, mutate, path] of cases) {
    it(title, () => {
      const p = clone(image);
      mutate(p);
      const f = findings(p);
      assert.equal(f.length, 1, JSON.stringify(f));
      assert.equal(f[0].path, path);
    });
  }

  it("fails when a service endpoint listens on port 22", () => {
    const p = clone(desiredState);
    p.instances[0].endpoints[0].port = 22;
    const f = runRule(noSsh, hostViewOfDesiredState(record("DesiredState", "ds", p)));
    assert.deepEqual(
      f.map((x) => x.path),
      ["instances[0].endpoints[0].port"],
    );
  });

  it("fails on a live host with an ssh unit or listener", () => {
    const host = hostViewFromObserved({
      hostId: "h",
      units: ["ssh.service"],
      listening: [{ port: 22, protocol: "tcp" }],
      packages: ["openssh-server:amd64"],
    });
    assert.deepEqual(
      runRule(noSsh, host)
        .map((f) => f.path)
        .sort(),
      ["listening[0].port", "packages", "units"],
    );
  });

  it("does not mistake openssh-client-free names like 'sshfs-helper-doc' or 'libssh2-1' for servers", () => {
    const p = clone(image);
    p.packages.push("libssh2-1", "openssl");
    assert.deepEqual(findings(p), []);
  });

  it("reports nothing for values unknown at preview", () => {
    assert.deepEqual(
      findings({ ...image, packages: UNKNOWN, firewall: UNKNOWN, remoteRootLogin: UNKNOWN }),
      [],
    );
    const p = clone(image);
    p.packages.push(UNKNOWN);
    p.firewall.allowedTcpPorts = [UNKNOWN];
    assert.deepEqual(findings(p), []);
  });
});
