/**
 * What PID 1 (agents/init/init_egress.py, the real zr-init) refuses when asked to load a partition's
 * egress rules: a rules file with anything but `meta skuid <its uid> ip daddr <data-network address>
 * tcp dport <port> accept` lines, something planted in place of the file, and hostile requests. Every
 * refusal loads nothing and PID 1 runs on. What it loads is init-egress.test.ts; PID 1 and the
 * probes are egress-pid1.ts. Run as root on the host (test/lab/agent/init-fixture.ts).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { partitionName, partitionUid } from "../../../lib/hardening";
import { AGENT, ask, canRun, EgressPid1, HOST } from "./egress-pid1";

(canRun ? describe : describe.skip)(
  "per-partition egress refused by PID 1 (real zr-init, as root)",
  function () {
    this.timeout(120_000);
    const pid1 = new EgressPid1();

    before(() => pid1.start());
    after(() => pid1.stop());

    const U = partitionUid(1);
    const rule = (addr: string, port = "8786", uid = U, fam = "ip") =>
      `meta skuid ${uid} ${fam} daddr ${addr} tcp dport ${port} accept\n`;
    const files: [string, string | Buffer, RegExp][] = [
      [
        "a rule for another partition's uid",
        rule(HOST, "8786", partitionUid(0)),
        /uid 2100 is not this partition's uid 2101/,
      ],
      ["a rule for root", rule(HOST, "8786", 0), /uid 0 is not this partition's uid/],
      ["a foreign (public) address", rule("8.8.8.8"), /8\.8\.8\.8 is outside the platform's data networks/],
      [
        "a private address outside the data networks",
        rule("192.168.1.1"),
        /outside the platform's data networks/,
      ],
      ["loopback", rule("127.0.0.1"), /127\.0\.0\.1 is outside/],
      ["IPv6 loopback", rule("::1", "8786", U, "ip6"), /::1 is outside/],
      ["a prefix instead of an address", rule("10.78.0.0/16"), /is not 'meta skuid/],
      ["a non-canonical address", rule("10.78.09.1"), /not an IP address/],
      ["an IPv6 address as ip", rule("fd00:78::1"), /not a canonical ip address/],
      ["an upper-case IPv6 address", rule("FD00:78::1", "8786", U, "ip6"), /is not 'meta skuid/],
      ["port 0", rule(HOST, "0"), /port 0 is not a TCP port/],
      ["port 65536", rule(HOST, "65536"), /port 65536 is not a TCP port/],
      ["a port with a leading zero", rule(HOST, "08786"), /port 08786 is not/],
      [
        "a second statement after ';'",
        `meta skuid ${U} ip daddr ${HOST} tcp dport 8786 accept; flush ruleset\n`,
        /is not 'meta skuid/,
      ],
      ["a second command on a new line", rule(HOST) + "flush ruleset\n", /line 2: flush ruleset is not/],
      ["a jump", `meta skuid ${U} ip daddr ${HOST} tcp dport 8786 jump output\n`, /is not 'meta skuid/],
      ["an accept of everything", `meta skuid ${U} accept\n`, /is not 'meta skuid/],
      ["a port set", `meta skuid ${U} ip daddr ${HOST} tcp dport { 1-65535 } accept\n`, /is not 'meta skuid/],
      ["a doubled space", `meta skuid ${U}  ip daddr ${HOST} tcp dport 8786 accept\n`, /is not 'meta skuid/],
      ["a tab", `meta skuid ${U}\tip daddr ${HOST} tcp dport 8786 accept\n`, /printable ASCII/],
      ["a carriage return", rule(HOST).replace("\n", "\r\n"), /printable ASCII/],
      ["a NUL byte", rule(HOST).replace("accept", "accept\0"), /printable ASCII/],
      ["UTF-8", rule(HOST).replace("accept", "accépt"), /printable ASCII/],
      ["a comment", `# ${rule(HOST)}`, /is not 'meta skuid/],
      ["no final newline", rule(HOST).trimEnd(), /not terminated by a newline/],
      ["more than 512 rules", rule(HOST).repeat(513), /513 rules; at most 512/],
      ["a file over 64 KiB", Buffer.alloc(70_000, 0x41), /longer than 65536 bytes/],
    ];
    const nothingLoaded = () => {
      assert.notEqual(pid1.table(U).status, 0, `no table for uid ${U}`);
      assert.equal(pid1.init.child.exitCode, null, "PID 1 still runs");
    };
    for (const [what, text, want] of files)
      it(`refuses a rules file with ${what}, and loads nothing`, () => {
        pid1.writeRules(partitionName(1), text);
        assert.match(ask(pid1.init.socket, "egress zr-p001\n"), new RegExp(`^refused: .*${want.source}`));
        nothingLoaded();
      });

    const planted: [string, () => void, RegExp][] = [
      ["no file", () => fs.rmSync(path.join(pid1.dir, "zr-p001.rules"), { force: true }), /no rules file/],
      [
        "a symlink to the agent's valid file",
        () => {
          pid1.writeRules("other", rule(HOST));
          fs.rmSync(path.join(pid1.dir, "zr-p001.rules"), { force: true });
          fs.symlinkSync(path.join(pid1.dir, "other.rules"), path.join(pid1.dir, "zr-p001.rules"));
        },
        /cannot open .*symbolic links/,
      ],
      [
        "a symlink to /etc/shadow",
        () => {
          fs.rmSync(path.join(pid1.dir, "zr-p001.rules"), { force: true });
          fs.symlinkSync("/etc/shadow", path.join(pid1.dir, "zr-p001.rules"));
        },
        /cannot open .*symbolic links/,
      ],
      [
        "a file of root's",
        () => pid1.writeRules(partitionName(1), rule(HOST), 0o644, 0),
        /must be the agent's/,
      ],
      [
        "a file of the partition's own uid",
        () => pid1.writeRules(partitionName(1), rule(HOST), 0o644, U),
        /must be the agent's/,
      ],
      [
        "a group-writable file",
        () => pid1.writeRules(partitionName(1), rule(HOST), 0o664),
        /writable by no one else/,
      ],
      [
        "a hard link",
        () => {
          const f = pid1.writeRules(partitionName(1), rule(HOST));
          fs.linkSync(f, path.join(pid1.dir, "link.rules"));
        },
        /with one link/,
      ],
      [
        "a directory",
        () => {
          fs.rmSync(path.join(pid1.dir, "zr-p001.rules"), { force: true });
          fs.mkdirSync(path.join(pid1.dir, "zr-p001.rules"));
          fs.chownSync(path.join(pid1.dir, "zr-p001.rules"), AGENT, AGENT);
        },
        /is not a regular file/,
      ],
      [
        "a FIFO",
        () => {
          fs.rmSync(path.join(pid1.dir, "zr-p001.rules"), { force: true, recursive: true });
          spawnSync("mkfifo", [path.join(pid1.dir, "zr-p001.rules")]);
          fs.chownSync(path.join(pid1.dir, "zr-p001.rules"), AGENT, AGENT);
        },
        /is not a regular file/,
      ],
    ];
    for (const [what, plant, want] of planted)
      it(`refuses ${what} in place of the rules file, and loads nothing`, () => {
        plant();
        assert.match(ask(pid1.init.socket, "egress zr-p001\n"), new RegExp(`^refused: .*${want.source}`));
        nothingLoaded();
        fs.rmSync(path.join(pid1.dir, "link.rules"), { force: true });
      });

    const requests: [string, string, number, RegExp][] = [
      [
        "an unknown partition",
        "egress zr-p999\n",
        AGENT,
        /^refused: 'zr-p999' is not an on-demand partition/,
      ],
      [
        "a path for a name",
        "egress ../egress/zr-p001\n",
        AGENT,
        /^refused: .* is not an on-demand partition/,
      ],
      ["a platform user", "egress zr-agent\n", AGENT, /^refused: 'zr-agent' is not an on-demand partition/],
      [
        "an injected second command",
        "egress zr-p001;nft flush ruleset\n",
        AGENT,
        /^refused: egress takes exactly one/,
      ],
      ["a newline inside the line", "egress zr-p001\nflush ruleset\n", AGENT, /^refused: .* printable ASCII/],
      [
        "rule text in the request",
        `egress ${rule(HOST)}`,
        AGENT,
        /^refused: request longer than 64 bytes|^refused: egress takes exactly one/,
      ],
      [
        "an oversized request",
        `egress ${"p".repeat(100)}\n`,
        AGENT,
        /^refused: request longer than 64 bytes/,
      ],
      ["root asking", "egress zr-p001\n", 0, /^refused: uid 0 may not ask PID 1/],
      ["another uid asking", "egress zr-p001\n", 2001, /^refused: uid 2001 may not ask PID 1/],
      [
        "a partition's uid asking to lift its own rules",
        "egress-clear zr-p000\n",
        partitionUid(0),
        /Permission denied/,
      ],
    ];
    for (const [what, line, uid, want] of requests)
      it(`refuses ${what}, and loads nothing`, () => {
        pid1.writeRules(partitionName(1), rule(HOST));
        assert.match(ask(pid1.init.socket, line, uid), want);
        nothingLoaded();
      });
  },
);
