import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { runCli } from "../../helpers/cli";
import * as pki from "../../../lib/pki";
import { addStack, hierarchy, sign, stackDir, tempDir, type Hierarchy } from "./fixture";

describe("zeroroot client kit --for dask (the user's own Dask clusters)", function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let stacks: string;
  let work: string;

  /** Steps 1 and 2 for `user` of `dc` (certificate signed by that data center's CA). */
  const kitOf = async (user: string, dc: "dc1" | "dc2", forWhat = "dask") => {
    const out = path.join(tempDir(`dask-${dc}-${user}`), "kit");
    const base = ["client", "kit", "--user", user, "--dc", dc, "--out", out];
    const r1 = await runCli(base);
    assert.equal(r1.code, 0, r1.err);
    const cert = path.join(work, `${dc}-${user}.crt`);
    fs.writeFileSync(
      cert,
      sign(h.dcs[dc].ca, "user", fs.readFileSync(path.join(out, `${user}.csr`), "utf8")),
    );
    const chain = path.join(work, `${dc}-chain.pem`);
    fs.writeFileSync(chain, h.dcs[dc].chainPem);
    const r2 = await runCli([
      ...base,
      "--for",
      forWhat,
      "--cert",
      cert,
      "--chain",
      chain,
      "--stacks",
      stacks,
    ]);
    return { ...r2, dir: path.join(out, "dask"), kitDir: out };
  };
  const read = (dir: string, name: string) => fs.readFileSync(path.join(dir, name), "utf8");

  before(() => {
    h = hierarchy("dask kit test");
    // dc1 runs alice's `analytics` scheduler; dc2 holds the copy with the remote scheduler.
    stacks = stackDir(h.rootPem);
    addStack(stacks, "dc2");
    work = tempDir("dask-work");
  });

  it("writes the owner's kit: the python kit's certificate files and one clusters.json entry, opened with Security(**security)", async () => {
    const r = await kitOf("alice", "dc1");
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(fs.readdirSync(r.dir).sort(), [
      "alice.crt",
      "alice.key",
      "clusters.json",
      "connections.txt",
      "root.crt",
    ]);
    assert.equal(fs.statSync(path.join(r.dir, "alice.key")).mode & 0o777, 0o600);
    const v = pki.verifyIdentity(read(r.dir, "alice.crt"), read(r.dir, "root.crt"), { use: "clientAuth" });
    assert.ok(v.ok && pki.formatIdentity(v.identity) === "dc1/user/alice" && v.path.length === 2);
    const file = (n: string) => path.join(r.dir, n);
    assert.deepEqual(JSON.parse(read(r.dir, "clusters.json")), [
      {
        dataCenter: "dc1",
        cluster: "analytics",
        scheduler: "tls://c01.dc1.zeroroot.example:8786",
        address: "10.78.1.14",
        security: {
          tls_ca_file: file("root.crt"),
          tls_client_cert: file("alice.crt"),
          tls_client_key: file("alice.key"),
          require_encryption: true,
        },
      },
    ]);
    assert.ok(path.isAbsolute(file("root.crt")));
    const text = read(r.dir, "connections.txt");
    assert.ok(
      text.includes(
        `Client("tls://c01.dc1.zeroroot.example:8786", security=Security(tls_ca_file="${file("root.crt")}", tls_client_cert="${file("alice.crt")}", tls_client_key="${file("alice.key")}", require_encryption=True))`,
      ),
      text,
    );
    assert.equal(text.match(/^Client\(/gm)?.length, 1, "dc2's remote-scheduler copy is not listed again");
    assert.doesNotMatch(r.out, /no Dask cluster/);
  });

  const none: [string, string, "dc1" | "dc2"][] = [
    ["bob of dc1, in stacks where alice owns a cluster", "bob", "dc1"],
    ["an alice of dc2 (not dc1/user/alice)", "alice", "dc2"],
  ];
  for (const [title, user, dc] of none)
    it(`gives ${title} a kit with an empty list and a warning line`, async () => {
      const r = await kitOf(user, dc);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(JSON.parse(read(r.dir, "clusters.json")), []);
      assert.match(
        read(r.dir, "connections.txt"),
        new RegExp(`# No Dask cluster of ${dc}/user/${user} in zeroroot:clusters\\.`),
      );
      assert.doesNotMatch(read(r.dir, "connections.txt"), /analytics|c01\./);
      assert.match(r.out, new RegExp(`no Dask cluster of ${dc}/user/${user} in zeroroot:clusters yet`));
      assert.doesNotMatch(r.out, /no data set is granted/, "a dask-only kit does not speak of data sets");
    });

  it("writes a dask kit next to a datastore kit, each with its own files", async () => {
    const r = await kitOf("alice", "dc1", "python,dask");
    assert.equal(r.code, 0, r.err);
    assert.ok(fs.existsSync(path.join(r.kitDir, "python", "connections.json")));
    assert.ok(!fs.existsSync(path.join(r.kitDir, "python", "clusters.json")));
    assert.ok(!fs.existsSync(path.join(r.dir, "connections.json")));
    assert.equal(JSON.parse(read(r.dir, "clusters.json")).length, 1);
    assert.ok(read(r.dir, "alice.key") === read(path.join(r.kitDir, "python"), "alice.key"));
  });
});
