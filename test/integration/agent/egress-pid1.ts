/**
 * PID 1 with per-partition egress, for the tests of its egress loading (init-egress.test.ts: rules
 * that load; init-egress-refusals.test.ts: hostile files and requests that load nothing). The real
 * zr-init (test/lab/agent/init-fixture.ts) in its own network namespace, with two partitions, the
 * agent's egress directory and HOST on its loopback; and the probes the tests make: a request to
 * PID 1 as a given uid, the partition's nftables table and drop counter, a connection as a uid, and
 * a rules file written as the agent would. Runs as root on the host.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  INIT_ROOT_BASE,
  startInit,
  stopInit,
  writeInitConfig,
  type InitFixture,
} from "../../lab/agent/init-fixture";
import { makePartitions } from "../../lab/agent/node-fixture";

export const AGENT = 2000;
const PARTITIONS = 2;
/** The address PID 1's namespace gets (on lo): inside the allowed networks. */
export const HOST = "10.78.9.1";
const NETWORKS = ["10.78.0.0/16", "fd00:78::/32"];
export const REPO = path.join(__dirname, "../../..");
export const canRun =
  process.getuid?.() === 0 && fs.existsSync("/usr/bin/supervisord") && fs.existsSync("/usr/sbin/nft");

/** One request line to PID 1 as `uid` (in the agent's group unless root or a partition); its answer. */
export function ask(socket: string, line: string, uid = AGENT): string {
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

/** PID 1 with an egress directory `dir`; start() in `before`, stop() in `after`. */
export class EgressPid1 {
  root = "";
  /** The agent's egress directory, where the partitions' rules files are. */
  dir = "";
  init!: InitFixture;

  /** A command in PID 1's network namespace. */
  inNs(argv: string[], input?: string) {
    return spawnSync("nsenter", ["-t", String(this.init.hostPid()), "-n", ...argv], {
      encoding: "utf8",
      timeout: 30_000,
      input,
    });
  }

  /** `nft list table` of the partition uid's egress table (status non-zero: no table). */
  table(uid: number) {
    return this.inNs(["nft", "list", "table", "inet", `zr_egress_${uid}`]);
  }

  /** Packets the uid's drop counter has counted. */
  dropped(uid: number): number {
    return Number(
      /packets (\d+)/.exec(
        this.inNs(["nft", "list", "counter", "inet", `zr_egress_${uid}`, `zr-drop-${uid}`]).stdout,
      )?.[1],
    );
  }

  /** Connects as `uid` to HOST:port from PID 1's namespace (listeners on 8786 and 8787, as root). */
  connects(uid: number, port: number): string {
    const probe =
      "import os,socket,sys\nls=[socket.create_server(('" +
      HOST +
      "',p)) for p in (8786,8787)]\n" +
      "pid=os.fork()\nif pid==0:\n os.setgid(int(sys.argv[1])); os.setuid(int(sys.argv[1]))\n" +
      " s=socket.socket(); s.settimeout(1.5)\n try:\n  s.connect(('" +
      HOST +
      "',int(sys.argv[2]))); print('connected')\n" +
      " except OSError as e:\n  print(type(e).__name__)\n os._exit(0)\nos.waitpid(pid,0)";
    const r = this.inNs(["/usr/bin/python3", "-c", probe, String(uid), String(port)]);
    return r.stdout.trim() || r.stderr.trim();
  }

  /** Writes partition `user`'s rules file as the agent would (its uid, 0640, one link). */
  writeRules(user: string, text: string | Buffer, mode = 0o640, owner = AGENT): string {
    const f = path.join(this.dir, `${user}.rules`);
    fs.rmSync(f, { force: true, recursive: true });
    fs.writeFileSync(f, text, { mode });
    fs.chmodSync(f, mode);
    fs.chownSync(f, owner, owner);
    return f;
  }

  /** The real zr-init with PARTITIONS partitions and egress over NETWORKS, HOST on its lo. */
  async start(): Promise<void> {
    const root = (this.root = fs.mkdtempSync(path.join(INIT_ROOT_BASE, "zr-init-egress-")));
    fs.chmodSync(root, 0o755);
    const dir = (this.dir = path.join(root, "egress"));
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chownSync(dir, AGENT, AGENT);
    const parts = path.join(root, "parts");
    makePartitions(parts, PARTITIONS);
    const file = writeInitConfig(root, parts, PARTITIONS, AGENT);
    fs.writeFileSync(
      file,
      JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), egress: { dir, networks: NETWORKS } }),
    );
    this.init = await startInit(root, file);
    for (const argv of [
      ["ip", "link", "set", "lo", "up"],
      ["ip", "addr", "add", `${HOST}/32`, "dev", "lo"],
    ])
      assert.equal(this.inNs(argv).status, 0, argv.join(" "));
  }

  async stop(): Promise<void> {
    await stopInit(this.init);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
