/**
 * PID 1 (agents/init/zr-init.py, the real one) starts a partition's supervisord only when the agent
 * asks and stops it when asked, and refuses every other request: another uid (root included), an
 * unknown partition, path tricks, malformed lines, a flood, idle connections held open. Run as root
 * on the host, PID 1 in its own PID, mount and network namespaces (test/lab/agent/init-fixture.ts).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { partitionName, partitionPaths, partitionUid } from "../../../lib/hardening";
import { askInit } from "../../../agents/node/partitions";
import {
  INIT_ROOT_BASE,
  startInit,
  stopInit,
  writeInitConfig,
  type InitFixture,
} from "../../lab/agent/init-fixture";
import { makePartitions } from "../../lab/agent/node-fixture";
import { sleep, waitFor } from "../../lab/agent/helpers";

const AGENT = 2000;
const PARTITIONS = 3;
const canRun = process.getuid?.() === 0 && fs.existsSync("/usr/bin/supervisord");

/** Sends raw bytes to PID 1 as uid:gid (a python client, so any byte can be sent); returns its answer. */
function ask(socket: string, bytes: Buffer, uid = AGENT, gid = AGENT): string {
  const client =
    "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print('connect: '+e.strerror); sys.exit(0)\n" +
    // PID 1 may answer (a refusal) and close before the request is sent: send errors are expected
    "try:\n s.sendall(bytes.fromhex(sys.argv[2])); s.shutdown(socket.SHUT_WR)\nexcept OSError:\n pass\n" +
    "print(s.recv(70000).decode().strip())";
  const argv = ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--"];
  const r = spawnSync(
    argv[0],
    [...argv.slice(1), "/usr/bin/python3", "-c", client, socket, bytes.toString("hex")],
    {
      encoding: "utf8",
      timeout: 10_000,
    },
  );
  return r.stdout.trim() || r.stderr.trim();
}

/** Host pids of the supervisord of partition `i` (run by PID 1 as the partition's uid). */
function supervisordsOf(root: string, i: number): number[] {
  const conf = `${partitionPaths(partitionName(i), root).supervisorDir}/supervisord.conf`;
  return fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const cmd = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
        const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${d}/status`, "utf8"))?.[1]);
        return cmd.includes("/usr/bin/supervisord") && cmd.includes(conf) && uid === partitionUid(i);
      } catch {
        return false;
      }
    })
    .map(Number);
}

(canRun ? describe : describe.skip)("PID 1's request socket (real zr-init, as root)", function () {
  this.timeout(120_000);
  let root: string;
  let parts: string;
  let init: InitFixture;

  before(async () => {
    root = fs.mkdtempSync(path.join(INIT_ROOT_BASE, "zr-init-req-"));
    fs.chmodSync(root, 0o755);
    parts = path.join(root, "parts");
    makePartitions(parts, PARTITIONS);
    init = await startInit(root, writeInitConfig(root, parts, PARTITIONS, AGENT));
  });
  after(async () => {
    await stopInit(init);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("starts no partition supervisord at boot, and a socket only the agent's group may open", () => {
    for (let i = 0; i < PARTITIONS; i++) assert.deepEqual(supervisordsOf(parts, i), [], `partition ${i}`);
    const st = fs.statSync(init.socket);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [0, AGENT, 0o660]);
  });

  it("starts a partition's supervisord when the agent asks, once, and stops it when asked", async () => {
    assert.match(ask(init.socket, Buffer.from("start zr-p001\n")), /^ok started zr-p001 pid \d+$/);
    const [pid] = await waitFor(
      () => supervisordsOf(parts, 1).length === 1 && supervisordsOf(parts, 1),
      20_000,
      "zr-p001's supervisord",
    );
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    assert.match(status, /^CapEff:\s+0+$/m, "no capabilities");
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.equal(/^Groups:(.*)$/m.exec(status)?.[1].trim(), "", "no supplementary group");
    assert.match(status, new RegExp(`^Gid:\\s+${partitionUid(1)}\\s`, "m"), "the partition's own group");
    assert.match(ask(init.socket, Buffer.from("start zr-p001\n")), /^ok running zr-p001 pid \d+$/);
    assert.deepEqual(supervisordsOf(parts, 0), [], "other partitions stay without a supervisord");
    assert.equal(ask(init.socket, Buffer.from("list\n")), "ok running zr-p001");
    assert.match(ask(init.socket, Buffer.from("stop zr-p001\n")), /^ok stopping zr-p001 pid \d+$/);
    await waitFor(() => supervisordsOf(parts, 1).length === 0, 20_000, "zr-p001's supervisord gone");
    assert.equal(ask(init.socket, Buffer.from("stop zr-p001\n")), "ok not running zr-p001");
  });

  it("restarts a wanted partition supervisord that dies, and not one it was asked to stop", async () => {
    ask(init.socket, Buffer.from("start zr-p002\n"));
    const [first] = await waitFor(
      () => supervisordsOf(parts, 2).length === 1 && supervisordsOf(parts, 2),
      20_000,
      "zr-p002 up",
    );
    process.kill(first, "SIGKILL");
    const [second] = await waitFor(
      () => supervisordsOf(parts, 2).filter((p) => p !== first).length === 1 && supervisordsOf(parts, 2),
      20_000,
      "zr-p002 restarted",
    );
    assert.notEqual(second, first);
    ask(init.socket, Buffer.from("stop zr-p002\n"));
    await waitFor(() => supervisordsOf(parts, 2).length === 0, 20_000, "zr-p002 stopped");
    await sleep(2500); // longer than the restart back-off
    assert.deepEqual(supervisordsOf(parts, 2), [], "not restarted after a stop");
  });

  const hostile: [string, Buffer, RegExp][] = [
    [
      "an unknown partition",
      Buffer.from("start zr-p999\n"),
      /^refused: 'zr-p999' is not an on-demand partition/,
    ],
    [
      "a path instead of a name",
      Buffer.from("start ../../etc/passwd\n"),
      /^refused: '\.\.\/\.\.\/etc\/passwd' is not/,
    ],
    [
      "a name with a path tail",
      Buffer.from("start zr-p000/../zr-p001\n"),
      /^refused: .* is not an on-demand/,
    ],
    [
      "an absolute path",
      Buffer.from("start /var/lib/zeroroot/zr-p000\n"),
      /^refused: .* is not an on-demand/,
    ],
    [
      "a platform user that is not a partition",
      Buffer.from("start zr-agent\n"),
      /^refused: 'zr-agent' is not/,
    ],
    ["two names", Buffer.from("start zr-p000 zr-p001\n"), /^refused: start takes exactly one partition name/],
    ["a doubled space", Buffer.from("start  zr-p000\n"), /^refused: start takes exactly one/],
    [
      "a NUL byte",
      Buffer.from("start zr-p000\0\n"),
      /^refused: request .* holds bytes other than printable ASCII/,
    ],
    ["a carriage return", Buffer.from("start zr-p000\r\n"), /^refused: .* printable ASCII/],
    ["UTF-8", Buffer.from("start zr-p00\u0660\n"), /^refused: .* printable ASCII/],
    [
      "an unknown operation",
      Buffer.from("exec /bin/sh\n"),
      /^refused: unknown operation 'exec'; allowed: start, stop, list/,
    ],
    ["list with an argument", Buffer.from("list zr-p000\n"), /^refused: list takes no argument/],
    ["no newline", Buffer.from("start zr-p000"), /^refused: request not terminated by a newline/],
    [
      "an oversized line",
      Buffer.from(`start ${"a".repeat(200)}\n`),
      /^refused: request longer than 64 bytes/,
    ],
    ["nothing", Buffer.alloc(0), /^refused: request not terminated/],
    // egress requests: the hostile table is test/integration/agent/init-egress.test.ts
    ["egress rules for an unknown partition", Buffer.from("egress zr-p999\n"), /^refused: 'zr-p999' is not/],
    [
      "egress rules of rule text",
      Buffer.from("egress meta skuid 2100 accept\n"),
      /^refused: egress takes exactly/,
    ],
    [
      "egress rules when PID 1 has no egress configuration",
      Buffer.from("egress zr-p000\n"),
      /^refused: this image's PID 1 has no egress configuration/,
    ],
  ];
  for (const [what, bytes, want] of hostile)
    it(`refuses ${what}, and starts nothing`, () => {
      assert.match(ask(init.socket, bytes), want);
      for (let i = 0; i < PARTITIONS; i++) assert.deepEqual(supervisordsOf(parts, i), [], `partition ${i}`);
    });

  const peers: [string, number, number, RegExp][] = [
    ["root", 0, 0, /^refused: uid 0 may not ask PID 1/],
    ["another uid in the agent's group", 2001, AGENT, /^refused: uid 2001 may not ask PID 1/],
    ["a partition's uid", partitionUid(0), partitionUid(0), /^connect: Permission denied$/],
  ];
  for (const [who, uid, gid, want] of peers)
    it(`refuses ${who} (uid ${uid}), whatever it asks`, () => {
      assert.match(ask(init.socket, Buffer.from("start zr-p000\n"), uid, gid), want);
      assert.deepEqual(supervisordsOf(parts, 0), []);
    });

  it("the agent's client reads no socket as a PID 1 that starts every supervisord itself", async () => {
    assert.equal(await askInit(path.join(root, "absent.sock"), "list"), undefined);
  });

  it("bounds connections held open without a request: refused at once beyond 8, closed after 1 s", () => {
    // One process holds the 8 idle connections and asks right after: with one process per connection,
    // CI's load once spread their starts over more than PID 1's 1 s, and the first was closed before
    // the 9th came (a test timing, not PID 1's bound).
    const script = [
      "import json,socket,sys,time",
      "def connect():",
      " s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); return s",
      "def ask():",
      " s=connect()",
      " try:",
      "  s.sendall(b'list\\n'); s.shutdown(socket.SHUT_WR)",
      " except OSError:",
      "  pass",
      " r=s.recv(1000).decode().strip(); s.close(); return r",
      "t0=time.monotonic()",
      "idle=[connect() for _ in range(8)]",
      "first=ask(); firstAt=time.monotonic()-t0",
      "time.sleep(max(0.0, 1.0-(time.monotonic()-t0)))",
      "last=ask()",
      "while not last.startswith('ok') and time.monotonic()-t0 < 6:",
      " time.sleep(0.1); last=ask()",
      "print(json.dumps({'first':first,'firstAt':firstAt,'last':last,'lastAt':time.monotonic()-t0}))",
    ].join("\n");
    const r = asAgentPython(script, init.socket);
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { first: string; firstAt: number; last: string; lastAt: number };
    assert.ok(seen.firstAt < 1, `the 9th was asked ${seen.firstAt} s after the 8 connected`);
    assert.equal(seen.first, "refused: too many open requests");
    assert.equal(seen.last, "ok running", "answered once PID 1 closed the idle connections");
    assert.ok(seen.lastAt >= 1, `answered after ${seen.lastAt} s, before the idle ones' 1 s were up`);
  });

  it("refuses a flood beyond the rate limit, logging it once, and still answers afterwards", () => {
    // 200 requests as fast as one client can make them (PID 1 allows 120 a minute)
    const flood =
      "import socket,sys\nfor _ in range(200):\n s=socket.socket(socket.AF_UNIX)\n s.connect(sys.argv[1])\n" +
      " s.sendall(b'list\\n')\n print(s.recv(1000).decode().strip())\n s.close()";
    const r = asAgentPython(flood, init.socket, 60_000);
    const answers = r.stdout.trim().split("\n");
    assert.equal(answers.length, 200, r.stderr);
    const ok = answers.filter((a) => a === "ok running").length;
    const limited = answers.filter((a) => a === "refused: rate limit reached; ask again later").length;
    assert.equal(
      ok + limited,
      200,
      answers.find((a) => a !== "ok running" && !a.includes("rate limit")),
    );
    assert.ok(ok <= 120 && limited >= 80, `${ok} answered, ${limited} refused`);
    const log = fs.readFileSync(init.logFile, "utf8");
    assert.equal(log.match(/rate limit reached/g)?.length, 1, "logged once a minute, not per request");
    assert.equal(init.child.exitCode, null, "PID 1 still runs");
  });
});

/** Runs a python3 `script` as the agent's uid, the socket as its argument (what PID 1 lets ask). */
function asAgentPython(script: string, socket: string, timeout = 20_000) {
  const argv = [
    `--reuid=${AGENT}`,
    `--regid=${AGENT}`,
    "--clear-groups",
    "--",
    "/usr/bin/python3",
    "-c",
    script,
    socket,
  ];
  return spawnSync("setpriv", argv, { encoding: "utf8", timeout });
}
