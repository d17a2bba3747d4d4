/**
 * The rendered per-uid egress ruleset under the real nft (1.0.6) in a throw-away network namespace:
 * a partition uid reaches its granted address:port, is dropped (and counted by its named counter)
 * everywhere else, and a platform uid (root here) is not affected. Needs root (netns, nft).
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildEgressRuleset, dropCounterName, renderEgressNft } from "../../../lib/compute/egress";

const NS = `zrh9-egress-${process.pid}`;
const ALICE = { uid: 2100, owner: "dc1/user/alice" };
const BOB = { uid: 2101, owner: "dc2/user/bob" };
const GRANTED = { address: "10.99.0.1", port: 5432 };

function run(args: string[], input?: string): { status: number | null; out: string; err: string } {
  const r = spawnSync(args[0], args.slice(1), { input, encoding: "utf8", timeout: 20_000 });
  return { status: r.status, out: r.stdout ?? "", err: r.stderr ?? "" };
}
const inNs = (args: string[]) => run(["ip", "netns", "exec", NS, ...args]);
const must = (r: { status: number | null; err: string }, what: string) =>
  assert.equal(r.status, 0, `${what}: ${r.err}`);

/** Connects as `uid` (setpriv, as the partition's processes run); "connected", "timeout" or "refused". */
function connectAs(uid: number | "root", address: string, port: number): string {
  const py = `import socket,sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5).close(); print("connected")
except socket.timeout: print("timeout")
except ConnectionRefusedError: print("refused")`;
  const as =
    uid === "root" ? [] : ["setpriv", "--reuid", String(uid), "--regid", String(uid), "--clear-groups"];
  const r = inNs([...as, "/usr/bin/python3", "-c", py, address, String(port)]);
  return r.out.trim() || `error: ${r.err.trim()}`;
}

function dropCount(uid: number): number {
  const r = inNs(["nft", "-j", "list", "counters"]);
  must(r, "nft -j list counters");
  const items = (JSON.parse(r.out) as { nftables: { counter?: { name: string; packets: number } }[] })
    .nftables;
  const c = items.find((i) => i.counter?.name === dropCounterName(uid))?.counter;
  assert.ok(c, `counter ${dropCounterName(uid)} not found`);
  return c.packets;
}

describe("per-uid egress ruleset under the real nft, in a network namespace", function () {
  let dir = "";
  let listener: ChildProcess | undefined;
  const ruleset = renderEgressNft(buildEgressRuleset([ALICE, BOB], new Map([[ALICE.owner, [GRANTED]]])));

  before(function () {
    if (process.getuid?.() !== 0 || run(["nft", "--version"]).status !== 0) this.skip();
    dir = mkdtempSync(join(tmpdir(), "zrh9-egress-"));
    writeFileSync(join(dir, "egress.nft"), ruleset);
    must(run(["ip", "netns", "add", NS]), "ip netns add");
    must(run(["ip", "-n", NS, "link", "set", "lo", "up"]), "lo up");
    // Two local addresses on lo (this kernel has no dummy module): a server's own address is
    // reached over lo too, which is why the ruleset has no loopback exemption.
    for (const a of ["10.99.0.1/32", "10.99.0.2/32"])
      must(run(["ip", "-n", NS, "addr", "add", a, "dev", "lo"]), a);
  });

  after(() => {
    if (listener?.pid) process.kill(listener.pid);
    if (dir) {
      run(["ip", "netns", "delete", NS]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("passes nft's check mode (nft -c -f)", () => {
    must(inNs(["nft", "-c", "-f", join(dir, "egress.nft")]), "nft -c -f");
  });

  it("loads for real, twice (the file replaces its own table)", () => {
    must(inNs(["nft", "-f", join(dir, "egress.nft")]), "nft -f");
    must(inNs(["nft", "-f", join(dir, "egress.nft")]), "nft -f again");
    const tables = inNs(["nft", "list", "tables"]).out.trim().split("\n");
    assert.deepEqual(tables, ["table inet zr_egress"]);
  });

  it("alice's uid reaches her granted address:port; other ports, addresses and root's view differ as granted", async () => {
    // One listener on both addresses and both ports, as root (a platform process).
    const py = `import socket,select
ss=[]
for p in (5432, 5433):
    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", p)); s.listen(16); ss.append(s)
print("listening", flush=True)
while True:
    for s in select.select(ss, [], [])[0]: s.accept()[0].close()`;
    listener = spawn("ip", ["netns", "exec", NS, "/usr/bin/python3", "-c", py], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      listener?.stdout?.once("data", () => resolve());
      listener?.once("exit", (code) => reject(new Error(`listener exited ${code}`)));
    });

    const before = dropCount(ALICE.uid);
    assert.equal(connectAs(ALICE.uid, GRANTED.address, GRANTED.port), "connected");
    assert.equal(dropCount(ALICE.uid), before, "a granted connection is not counted as a drop");
    assert.equal(connectAs(ALICE.uid, "10.99.0.1", 5433), "timeout", "another port of a granted address");
    assert.equal(connectAs(ALICE.uid, "10.99.0.2", 5432), "timeout", "the granted port on another address");
    assert.equal(connectAs(ALICE.uid, "127.0.0.1", 5432), "timeout", "loopback is not an exemption");
    assert.ok(dropCount(ALICE.uid) >= before + 3, "each refused connection attempt is counted");

    assert.equal(connectAs(BOB.uid, GRANTED.address, GRANTED.port), "timeout", "alice's grant is not bob's");
    assert.ok(dropCount(BOB.uid) >= 1);

    assert.equal(connectAs("root", "10.99.0.2", 5433), "connected", "platform uids are not restricted");
    assert.equal(
      connectAs(2102, "10.99.0.2", 5433),
      "connected",
      "a uid not in the ruleset is not restricted",
    );
  });
});
