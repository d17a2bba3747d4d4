/**
 * Per-partition egress through PID 1 (agents/init/init_egress.py, the real zr-init): the agent's own
 * code (agents/node/egress.ts, run as the agent's uid) writes a partition's rules and asks; PID 1
 * re-reads the file, accepts only `meta skuid <its uid> ip daddr <data-network address> tcp dport
 * <port> accept` lines, and loads a table of its own building. In PID 1's network namespace the
 * partition's uid then reaches its granted endpoint and nothing else (dropped, counted). What it
 * refuses (every hostile file or request loads nothing) is init-egress-refusals.test.ts; PID 1 and
 * the probes are egress-pid1.ts. Run as root on the host (test/lab/agent/init-fixture.ts).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { partitionName, partitionUid } from "../../../lib/hardening";
import { waitFor } from "../../lab/agent/helpers";
import { AGENT, ask, canRun, EgressPid1, HOST, REPO } from "./egress-pid1";

(canRun ? describe : describe.skip)(
  "per-partition egress loaded by PID 1 (real zr-init, as root)",
  function () {
    this.timeout(120_000);
    const pid1 = new EgressPid1();

    before(() => pid1.start());
    after(() => pid1.stop());

    it("without rules a partition's uid is not restricted", () => {
      assert.equal(pid1.connects(partitionUid(0), 8787), "connected");
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
          pid1.init.socket,
          pid1.dir,
        ],
        { encoding: "utf8", timeout: 60_000, cwd: REPO },
      );
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /egress restricted to 1 endpoint\(s\) \(ok egress zr-p000 1 rules\)/);
      assert.equal(fs.statSync(path.join(pid1.dir, "zr-p000.rules")).uid, AGENT);
      assert.match(
        pid1.table(uid).stdout,
        new RegExp(`meta skuid ${uid} ip daddr ${HOST} tcp dport 8786 accept`),
      );
      assert.equal(pid1.connects(uid, 8786), "connected");
      const before = pid1.dropped(uid);
      assert.equal(pid1.connects(uid, 8787), "TimeoutError", "an endpoint not in the rules");
      assert.ok(pid1.dropped(uid) > before, `zr-drop-${uid} counted the drop`);
      assert.equal(pid1.connects(partitionUid(1), 8787), "connected", "another partition is not affected");
      assert.equal(pid1.connects(0, 8787), "connected", "root (PID 1, the platform) is not affected");
    });

    it("replaces the partition's rules as a whole, and egress-clear lifts them", () => {
      const uid = partitionUid(0);
      pid1.writeRules(partitionName(0), `meta skuid ${uid} ip daddr ${HOST} tcp dport 8787 accept\n`);
      assert.equal(ask(pid1.init.socket, "egress zr-p000\n"), "ok egress zr-p000 1 rules");
      assert.equal(pid1.connects(uid, 8787), "connected");
      assert.equal(pid1.connects(uid, 8786), "TimeoutError");
      pid1.writeRules(partitionName(0), "");
      assert.equal(ask(pid1.init.socket, "egress zr-p000\n"), "ok egress zr-p000 0 rules");
      assert.equal(pid1.connects(uid, 8787), "TimeoutError", "an empty file grants nothing");
      assert.equal(ask(pid1.init.socket, "egress-clear zr-p000\n"), "ok egress cleared zr-p000");
      assert.notEqual(pid1.table(uid).status, 0, "the table is gone");
      assert.equal(pid1.connects(uid, 8787), "connected");
    });

    it("loads the rules the agent left before it starts the partition's supervisord (a reboot), and refuses the start on a bad file", async () => {
      const uid = partitionUid(0);
      pid1.writeRules(partitionName(0), `meta skuid ${uid} ip daddr ${HOST} tcp dport 8786 accept\n`);
      assert.match(ask(pid1.init.socket, "start zr-p000\n"), /^ok started zr-p000 pid \d+$/);
      assert.match(
        pid1.table(uid).stdout,
        new RegExp(`meta skuid ${uid} ip daddr ${HOST} tcp dport 8786 accept`),
      );
      assert.match(ask(pid1.init.socket, "stop zr-p000\n"), /^ok stopping zr-p000/);
      await waitFor(
        () => ask(pid1.init.socket, "list\n") === "ok running",
        20_000,
        "zr-p000's supervisord gone",
        500,
      );
      assert.equal(ask(pid1.init.socket, "egress-clear zr-p000\n"), "ok egress cleared zr-p000");
      pid1.writeRules(partitionName(0), "meta skuid 2100 accept\n");
      assert.match(ask(pid1.init.socket, "start zr-p000\n"), /^refused: line 1: .* is not 'meta skuid/);
      assert.equal(ask(pid1.init.socket, "list\n"), "ok running", "no supervisord started");
      assert.notEqual(pid1.table(uid).status, 0, "nothing loaded");
      fs.rmSync(path.join(pid1.dir, "zr-p000.rules"));
    });
  },
);
