/**
 * Per-partition egress through PID 1 (agents/init/init_egress.py, the real zr-init): the agent's own
 * code (agents/node/egress.ts, run as the agent's uid) writes a partition's rules and asks; PID 1
 * re-reads the file, accepts only `meta skuid <its uid> ip daddr <data-network address> tcp dport
 * <port> accept` lines, and loads a table of its own building. In PID 1's network namespace the
 * partition's uid then reaches its granted endpoint and nothing else (dropped, counted). Every
 * hostile file or request loads nothing. Run as root on the host (test/lab/agent/init-fixture.ts).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { partitionName, partitionUid } from "../../../lib/hardening";
import {
  INIT_ROOT_BASE,
  startInit,
  stopInit,
  writeInitConfig,
  type InitFixture,
} from "../../lab/agent/init-fixture";
import { waitFor } from "../../lab/agent/helpers";
import { makePartitions } from "../../lab/agent/node-fixture";

const AGENT = 2000;
const PARTITIONS = 2;
/** The address PID 1's namespace gets (on lo): inside the allowed networks. */
const HOST = "10.78.9.1";
const NETWORKS = ["10.78.0.0/16", "fd00:78::/32"];
const REPO = path.join(__dirname, "../../..");
const canRun =
  process.getuid?.() === 0 && fs.existsSync("/usr/bin/supervisord") && fs.existsSync("/usr/sbin/nft");

/** One request line to PID 1 as `uid` (in the agent's group unless root or a partition); its answer. */
function ask(socket: string, line: string, uid = AGENT): string {
  const client =
    "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n" +
    "try:\n s.sendall(bytes.fromhex(sys.argv[2])); s.shutdown(socket.SHUT_WR)\nexcept OSError:\n pass\n" +
    "print(s.recv(70000).decode().strip())";
  const r = spawnSync(
    "setpriv",
    [
      `--reuid=${uid}`,
      `--regid=${uid >= 2100 || uid === 0 ? uid : AGENT}`,
      "--clear-groups",
      "--",
      "/usr/bin/python3",
      "-c",
      client,
      socket,
      Buffer.from(line).toString("hex"),
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
  return r.stdout.trim() || r.stderr.trim();
}

(canRun ? describe : describe.skip)(
  "per-partition egress loaded by PID 1 (real zr-init, as root)",
  function () {
    this.timeout(120_000);
    let root: string;
    let dir: string;
    let init: InitFixture;
    /** A command in PID 1's network namespace. */
    const inNs = (argv: string[], input?: string) =>
      spawnSync("nsenter", ["-t", String(init.hostPid()), "-n", ...argv], {
        encoding: "utf8",
        timeout: 30_000,
        input,
      });
    const table = (uid: number) => inNs(["nft", "list", "table", "inet", `zr_egress_${uid}`]);
    const dropped = (uid: number) =>
      Number(
        /packets (\d+)/.exec(
          inNs(["nft", "list", "counter", "inet", `zr_egress_${uid}`, `zr-drop-${uid}`]).stdout,
        )?.[1],
      );
    /** Connects as `uid` to HOST:port from PID 1's namespace (listeners on 8786 and 8787, as root). */
    const connects = (uid: number, port: number): string => {
      const probe =
        "import os,socket,sys\nls=[socket.create_server(('" +
        HOST +
        "',p)) for p in (8786,8787)]\n" +
        "pid=os.fork()\nif pid==0:\n os.setgid(int(sys.argv[1])); os.setuid(int(sys.argv[1]))\n" +
        " s=socket.socket(); s.settimeout(1.5)\n try:\n  s.connect(('" +
        HOST +
        "',int(sys.argv[2]))); print('connected')\n" +
        " except OSError as e:\n  print(type(e).__name__)\n os._exit(0)\nos.waitpid(pid,0)";
      const r = inNs(["/usr/bin/python3", "-c", probe, String(uid), String(port)]);
      return r.stdout.trim() || r.stderr.trim();
    };
    /** Writes partition `user`'s rules file as the agent would (its uid, 0640, one link). */
    const writeRules = (user: string, text: string | Buffer, mode = 0o640, owner = AGENT) => {
      const f = path.join(dir, `${user}.rules`);
      fs.rmSync(f, { force: true, recursive: true });
      fs.writeFileSync(f, text, { mode });
      fs.chmodSync(f, mode);
      fs.chownSync(f, owner, owner);
      return f;
    };

    before(async () => {
      root = fs.mkdtempSync(path.join(INIT_ROOT_BASE, "zr-init-egress-"));
      fs.chmodSync(root, 0o755);
      dir = path.join(root, "egress");
      fs.mkdirSync(dir, { mode: 0o755 });
      fs.chownSync(dir, AGENT, AGENT);
      const parts = path.join(root, "parts");
      makePartitions(parts, PARTITIONS);
      const file = writeInitConfig(root, parts, PARTITIONS, AGENT);
      fs.writeFileSync(
        file,
        JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), egress: { dir, networks: NETWORKS } }),
      );
      init = await startInit(root, file);
      for (const argv of [
        ["ip", "link", "set", "lo", "up"],
        ["ip", "addr", "add", `${HOST}/32`, "dev", "lo"],
      ])
        assert.equal(inNs(argv).status, 0, argv.join(" "));
    });
    after(async () => {
      await stopInit(init);
      fs.rmSync(root, { recursive: true, force: true });
    });

    it("without rules a partition's uid is not restricted", () => {
      assert.equal(connects(partitionUid(0), 8787), "connected");
    });

    it("loads the rules the agent's code writes (as the agent's uid): the granted endpoint works, another is dropped and counted", () => {
      const uid = partitionUid(0);
      const agent =
        `const { PartitionEgress } = require(${JSON.stringify(path.join(REPO, "agents/node/egress.ts"))});\n` +
        `new PartitionEgress(process.argv[1], process.argv[2], (m) => console.log(m)).apply({ name: "dask-w0", ` +
        `partition: { user: "${partitionName(0)}", uid: ${uid} }, parameters: { "zeroroot.owner": "dc1/user/alice", ` +
        `"zeroroot.egress": "${HOST}:8786" } }).catch((e) => { console.log(String(e)); process.exit(1); });`;
      const r = spawnSync(
        "setpriv",
        [
          `--reuid=${AGENT}`,
          `--regid=${AGENT}`,
          "--clear-groups",
          "--",
          process.execPath,
          "--import",
          "tsx",
          "-e",
          agent,
          init.socket,
          dir,
        ],
        { encoding: "utf8", timeout: 60_000, cwd: REPO },
      );
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /egress restricted to 1 endpoint\(s\) \(ok egress zr-p000 1 rules\)/);
      assert.equal(fs.statSync(path.join(dir, "zr-p000.rules")).uid, AGENT);
      assert.match(table(uid).stdout, new RegExp(`meta skuid ${uid} ip daddr ${HOST} tcp dport 8786 accept`));
      assert.equal(connects(uid, 8786), "connected");
      const before = dropped(uid);
      assert.equal(connects(uid, 8787), "TimeoutError", "an endpoint not in the rules");
      assert.ok(dropped(uid) > before, `zr-drop-${uid} counted the drop`);
      assert.equal(connects(partitionUid(1), 8787), "connected", "another partition is not affected");
      assert.equal(connects(0, 8787), "connected", "root (PID 1, the platform) is not affected");
    });

    it("replaces the partition's rules as a whole, and egress-clear lifts them", () => {
      const uid = partitionUid(0);
      writeRules(partitionName(0), `meta skuid ${uid} ip daddr ${HOST} tcp dport 8787 accept\n`);
      assert.equal(ask(init.socket, "egress zr-p000\n"), "ok egress zr-p000 1 rules");
      assert.equal(connects(uid, 8787), "connected");
      assert.equal(connects(uid, 8786), "TimeoutError");
      writeRules(partitionName(0), "");
      assert.equal(ask(init.socket, "egress zr-p000\n"), "ok egress zr-p000 0 rules");
      assert.equal(connects(uid, 8787), "TimeoutError", "an empty file grants nothing");
      assert.equal(ask(init.socket, "egress-clear zr-p000\n"), "ok egress cleared zr-p000");
      assert.notEqual(table(uid).status, 0, "the table is gone");
      assert.equal(connects(uid, 8787), "connected");
    });

    it("loads the rules the agent left before it starts the partition's supervisord (a reboot), and refuses the start on a bad file", async () => {
      const uid = partitionUid(0);
      writeRules(partitionName(0), `meta skuid ${uid} ip daddr ${HOST} tcp dport 8786 accept\n`);
      assert.match(ask(init.socket, "start zr-p000\n"), /^ok started zr-p000 pid \d+$/);
      assert.match(table(uid).stdout, new RegExp(`meta skuid ${uid} ip daddr ${HOST} tcp dport 8786 accept`));
      assert.match(ask(init.socket, "stop zr-p000\n"), /^ok stopping zr-p000/);
      await waitFor(
        () => ask(init.socket, "list\n") === "ok running",
        20_000,
        "zr-p000's supervisord gone",
        500,
      );
      assert.equal(ask(init.socket, "egress-clear zr-p000\n"), "ok egress cleared zr-p000");
      writeRules(partitionName(0), "meta skuid 2100 accept\n");
      assert.match(ask(init.socket, "start zr-p000\n"), /^refused: line 1: .* is not 'meta skuid/);
      assert.equal(ask(init.socket, "list\n"), "ok running", "no supervisord started");
      assert.notEqual(table(uid).status, 0, "nothing loaded");
      fs.rmSync(path.join(dir, "zr-p000.rules"));
    });

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
      assert.notEqual(table(U).status, 0, `no table for uid ${U}`);
      assert.equal(init.child.exitCode, null, "PID 1 still runs");
    };
    for (const [what, text, want] of files)
      it(`refuses a rules file with ${what}, and loads nothing`, () => {
        writeRules(partitionName(1), text);
        assert.match(ask(init.socket, "egress zr-p001\n"), new RegExp(`^refused: .*${want.source}`));
        nothingLoaded();
      });

    const planted: [string, () => void, RegExp][] = [
      ["no file", () => fs.rmSync(path.join(dir, "zr-p001.rules"), { force: true }), /no rules file/],
      [
        "a symlink to the agent's valid file",
        () => {
          writeRules("other", rule(HOST));
          fs.rmSync(path.join(dir, "zr-p001.rules"), { force: true });
          fs.symlinkSync(path.join(dir, "other.rules"), path.join(dir, "zr-p001.rules"));
        },
        /cannot open .*symbolic links/,
      ],
      [
        "a symlink to /etc/shadow",
        () => {
          fs.rmSync(path.join(dir, "zr-p001.rules"), { force: true });
          fs.symlinkSync("/etc/shadow", path.join(dir, "zr-p001.rules"));
        },
        /cannot open .*symbolic links/,
      ],
      ["a file of root's", () => writeRules(partitionName(1), rule(HOST), 0o644, 0), /must be the agent's/],
      [
        "a file of the partition's own uid",
        () => writeRules(partitionName(1), rule(HOST), 0o644, U),
        /must be the agent's/,
      ],
      [
        "a group-writable file",
        () => writeRules(partitionName(1), rule(HOST), 0o664),
        /writable by no one else/,
      ],
      [
        "a hard link",
        () => {
          const f = writeRules(partitionName(1), rule(HOST));
          fs.linkSync(f, path.join(dir, "link.rules"));
        },
        /with one link/,
      ],
      [
        "a directory",
        () => {
          fs.rmSync(path.join(dir, "zr-p001.rules"), { force: true });
          fs.mkdirSync(path.join(dir, "zr-p001.rules"));
          fs.chownSync(path.join(dir, "zr-p001.rules"), AGENT, AGENT);
        },
        /is not a regular file/,
      ],
      [
        "a FIFO",
        () => {
          fs.rmSync(path.join(dir, "zr-p001.rules"), { force: true, recursive: true });
          spawnSync("mkfifo", [path.join(dir, "zr-p001.rules")]);
          fs.chownSync(path.join(dir, "zr-p001.rules"), AGENT, AGENT);
        },
        /is not a regular file/,
      ],
    ];
    for (const [what, plant, want] of planted)
      it(`refuses ${what} in place of the rules file, and loads nothing`, () => {
        plant();
        assert.match(ask(init.socket, "egress zr-p001\n"), new RegExp(`^refused: .*${want.source}`));
        nothingLoaded();
        fs.rmSync(path.join(dir, "link.rules"), { force: true });
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
        writeRules(partitionName(1), rule(HOST));
        assert.match(ask(init.socket, line, uid), want);
        nothingLoaded();
      });
  },
);
