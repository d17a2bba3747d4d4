/**
 * The end-to-end job of issue #12 (docs/compute.md, "A job end to end"), on the lab compute.test.ts
 * leaves (read, not deployed again): alice makes her key and request with `zeroroot client kit`,
 * dc1's ceremony signs it, the kit's step 2 reads the lab's stacks and writes her Dask kit, and from
 * the operator's network she runs train-job.py on the cluster her kit lists. A task on dc1's worker loads the iris data set into PostgreSQL;
 * a task on each of dc1's and dc2's workers fits a scikit-learn model on its shard, read from its own
 * data center's PostgreSQL (primary, replica); a task on dc1's worker averages them, scores the
 * result on the whole table and writes it to MariaDB/Galera. Every datastore connection is made with
 * a job certificate its worker obtained for the task, checked here; the row is read back through
 * another data center's Galera member.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DOMAIN, mgmtNs, type LabLayout } from "../../../lab/orchestrate/layout";
import { labWithCluster, type LabCluster } from "./cluster-fixture";
import { LAB_CLUSTER } from "../../../lab/releases/dask/lab";
import { GALERA_PORTS } from "../../../lab/releases/mariadb-galera/release";
import { labGalera, mariadb, synced, until } from "../storage/galera-fixture";
import { aliceAnalyticsIn, issue, type ClientCert } from "../storage/postgres-fixture";
import { signWithCeremony } from "../../../lib/pki";

const ZEROROOT = join(__dirname, "../../../bin/zeroroot");

interface Step {
  rows: number;
  cert: string;
}
interface JobResult {
  load: Step;
  fit: (Step & { coef: number[][]; intercept: number[]; classes: number[] })[];
  combine: Step & { score: number; reference: number; account: string; galeraCert: string };
}

describe("alice's scikit-learn job end to end: PostgreSQL in, two data centers' workers, MariaDB out (lab)", function () {
  this.timeout(15 * 60_000);
  let lab: LabLayout;
  let dir: string;
  let lc: LabCluster;
  let alice: ClientCert;
  let result: JobResult;
  let kit: string;
  const run = randomBytes(8).toString("hex");
  const address = (serverId: string) => lc.address(serverId);
  const proc = (role: string, dc: string) => lc.proc(role, dc);
  const url = (p: { server: string; port: number }) => lc.url(p);

  before(async () => {
    // the lab compute.test.ts brought up and left: read, not deployed again (a few minutes saved)
    lc = await labWithCluster();
    lab = lc.lab;
    dir = mkdtempSync(join(tmpdir(), "zr-train-"));
    alice = issue(lab, dir, "alice");
  });

  it("writes alice's Dask kit from her certificate and the lab's stacks: her cluster, its scheduler, no other", () => {
    const out = join(dir, "kit");
    const cli = (args: string[]) =>
      execFileSync(ZEROROOT, ["client", "kit", "--user", "alice", "--dc", "dc1", "--out", out, ...args], {
        encoding: "utf8",
      });
    cli([]); // step 1: her key and request, made here
    const issued = signWithCeremony(
      lab.paths.pki,
      "dc1",
      lab.secrets.ceremonyPassphrase,
      "user",
      readFileSync(join(out, "alice.csr"), "utf8"),
      { commonName: "alice" },
    );
    const crt = join(dir, "alice-returned.crt");
    writeFileSync(crt, issued.certificatePem);
    writeFileSync(join(dir, "chain.pem"), readFileSync(join(lab.paths.pki, "dc1", "ca.pem"), "utf8"));
    const said = cli([
      ...["--for", "dask", "--cert", crt, "--chain", join(dir, "chain.pem")],
      ...["--root", join(lab.dir, "root.pem"), "--stacks", lab.paths.stacks],
    ]);
    assert.match(said, /certificate of dc1\/user\/alice verified/);
    kit = join(out, "dask", "clusters.json");
    const entries = JSON.parse(readFileSync(kit, "utf8")) as {
      cluster: string;
      scheduler: string;
      address: string;
    }[];
    const s = proc("scheduler", "dc1");
    assert.deepEqual(
      entries.map((e) => [e.cluster, e.address, e.scheduler.split(":").pop()]),
      [[LAB_CLUSTER.name, address(s.server), String(s.port)]],
    );
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** What a job certificate says: its issuing data center (URI), owner (CN) and node (O). */
  const jobCert = (pem: string) => {
    const c = new X509Certificate(pem);
    return {
      issuer: /URI:zeroroot:\/\/job\.(dc\d)\./.exec(c.subjectAltName ?? "")?.[1],
      owner: /CN=([^\n]+)/.exec(c.subject)?.[1],
      node: /O=([^\n]+)/.exec(c.subject)?.[1],
      uri: c.subjectAltName ?? "",
    };
  };

  it("runs through the kit: loads iris into PostgreSQL, fits on both data centers' workers, writes the model to MariaDB", async () => {
    assert.ok(kit, "the kit was written");
    const members = await labGalera(lab);
    await until("every Galera member Synced in a cluster of 3", 180_000, () =>
      members.every((m) => synced(m)),
    );
    const dc1Member = members.find((m) => m.dc === "dc1")!;
    const params = {
      table: `iris_${run}`,
      run,
      workers: { dc1: url(proc("worker", "dc1")), dc2: url(proc("worker", "dc2")) },
      pg: { dc1: aliceAnalyticsIn(lab, "dc1"), dc2: aliceAnalyticsIn(lab, "dc2") },
      galera: { host: dc1Member.address, port: GALERA_PORTS.sql, db: "shop", user: "dc1/user/alice" },
    };
    const r = spawnSync(
      "ip",
      [
        ...["netns", "exec", mgmtNs("dc1"), "/usr/bin/python3", join(__dirname, "train-job.py")],
        ...[kit, LAB_CLUSTER.name, "--by-address"],
      ],
      {
        input: JSON.stringify(params),
        encoding: "utf8",
        timeout: 600_000,
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
      },
    );
    const line = (r.stdout ?? "").trim().split("\n").pop() ?? "";
    assert.ok(r.status === 0 && line.startsWith("{"), `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    result = JSON.parse(line) as JobResult;
  });

  it("scores the model trained across two data centers like one trained on all rows at once (iris, ≥ 0.9)", () => {
    assert.ok(result, "the job ran");
    assert.equal(result.load.rows, 150);
    assert.deepEqual(
      result.fit.map((f) => f.rows),
      [75, 75],
    );
    assert.equal(result.combine.rows, 150);
    for (const f of result.fit) assert.deepEqual(f.classes, [0, 1, 2]);
    const { score, reference } = result.combine;
    assert.ok(score >= 0.9 && score <= 1, `score ${score}`);
    assert.ok(Math.abs(score - reference) <= 0.05, `score ${score}, one model on all rows ${reference}`);
  });

  it("opened every datastore connection with a job certificate of the worker's own data center, for alice, bound to that worker", () => {
    assert.ok(result, "the job ran");
    const w1 = address(proc("worker", "dc1").server);
    const w2 = address(proc("worker", "dc2").server);
    const seen = [
      ["load (dc1 PostgreSQL)", result.load.cert, "dc1", w1],
      ["fit on dc1 (dc1 PostgreSQL)", result.fit[0].cert, "dc1", w1],
      ["fit on dc2 (dc2 PostgreSQL replica)", result.fit[1].cert, "dc2", w2],
      ["combine (dc1 PostgreSQL)", result.combine.cert, "dc1", w1],
      ["combine (dc1 Galera)", result.combine.galeraCert, "dc1", w1],
    ] as const;
    for (const [what, pem, dc, node] of seen) {
      const c = jobCert(pem);
      assert.deepEqual(
        [c.issuer, c.owner, c.node],
        [dc, "dc1.alice", node],
        `${what}: ${JSON.stringify(c)} (job.${dc}.${DOMAIN})`,
      );
    }
    // the MariaDB account the certificate opened: alice's, at that worker's address
    assert.equal(result.combine.account, `dc1/user/alice@${w1}`);
  });

  it("leaves the model in shop, replicated: dc3's Galera member returns it to alice", async () => {
    assert.ok(result, "the job ran");
    const members = await labGalera(lab);
    const dc3 = members.find((m) => m.dc === "dc3")!;
    let seen = { ok: false, out: "", err: "" };
    await until("the model run on dc3's member", 30_000, () => {
      seen = mariadb(lab, dc3, {
        user: "dc1/user/alice",
        cert: alice,
        sql: `SELECT ROUND(score, 6), trained_rows FROM shop.model_runs WHERE run='${run}'`,
      });
      return seen.ok && seen.out !== "";
    }).catch(() => undefined);
    assert.deepEqual(seen, { ok: true, out: `${result.combine.score.toFixed(6)}\t150`, err: "" });
  });
});
