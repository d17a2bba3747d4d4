import { strict as assert } from "node:assert";
import { renderSchedule } from "../../../lib/drift/schedule";

describe("drift schedule (systemd service + timer)", () => {
  it("runs as an unprivileged user with the operator's certificate as a credential and hardened options", () => {
    const { service, timer } = renderSchedule({ user: "zr-drift", checkout: "/opt/zeroroot" });
    for (const line of [
      "User=zr-drift",
      "LoadCredential=operator.crt:/etc/zeroroot/operator.crt",
      "LoadCredential=operator.key:/etc/zeroroot/operator.key",
      "NoNewPrivileges=yes",
      "CapabilityBoundingSet=",
      "ProtectSystem=strict",
      "PrivateTmp=yes",
      "SuccessExitStatus=2",
      "StateDirectory=zeroroot-drift",
    ])
      assert.ok(service.split("\n").includes(line), line);
    assert.match(service, /^ExecStart=\/opt\/zeroroot\/bin\/zeroroot drift --all /m);
    assert.ok(!/BEGIN|PRIVATE KEY|password/i.test(service), "no secret in the unit");
    assert.match(timer, /^OnUnitActiveSec=15min$/m);
    assert.match(timer, /^Persistent=true$/m);
  });

  it("reads the managed BMC logins from the deployment state with the passphrase as a credential", () => {
    const { service } = renderSchedule({
      stateDir: "/srv/zeroroot/state",
      passphraseFile: "/etc/zeroroot/pass",
    });
    assert.match(
      service,
      /^ExecStart=\/opt\/zeroroot\/bin\/zeroroot drift --all --state \/srv\/zeroroot\/state /m,
    );
    assert.ok(service.split("\n").includes("LoadCredential=passphrase:/etc/zeroroot/pass"));
    assert.ok(service.split("\n").includes("Environment=PULUMI_CONFIG_PASSPHRASE_FILE=%d/passphrase"));
  });

  const hostile: [string, Record<string, string>][] = [
    ["a newline in the user (a unit line injected)", { user: "zr\nExecStartPre=/bin/sh" }],
    ["a relative checkout path", { checkout: "opt/zeroroot" }],
    ["root as the user (the run is unprivileged)", { user: "root" }],
    ["a path escaping with ..", { checkout: "/opt/../etc" }],
    ["an interval that is not a time span", { interval: "15min\nOnCalendar=*" }],
    ["a key path with a space", { key: "/etc/zeroroot/operator key" }],
    [
      "a state directory with a unit line injected",
      { stateDir: "/srv/state\nExecStartPre=/bin/sh", passphraseFile: "/etc/p" },
    ],
    ["a state directory without the passphrase that opens its secrets", { stateDir: "/srv/zeroroot/state" }],
  ];
  for (const [name, opts] of hostile)
    it(`refuses ${name}`, () => {
      assert.throws(() => renderSchedule(opts), /received .*; allowed: /);
    });
});
