/**
 * What a real PostgreSQL 15 makes of job certificates with the configuration the release renders:
 * the stack's `jobAccess` lines (lib/compute/job-access.ts) in the instance's etc/job-access.txt,
 * pg_hba.conf and pg_ident.conf written by the release's own pg_common.py (run as on a server, with
 * job_access.py and crl_sources.py beside it), then PostgreSQL started on them. The "node" is
 * 127.0.0.1; a certificate bound to 127.0.0.2 stands for one taken from another node. Needs root
 * (PostgreSQL runs as the `postgres` user) and Debian's postgresql-15. CRLs are not this test's
 * subject: ssl_crl_file is emptied on the command line (test/integration/datastores covers them).
 * The server and its certificate authorities are set up by job-pg-server.ts.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { pgJobLines, type JobAccessEntry } from "../../../lib/compute/job-access";
import * as pki from "../../../lib/pki";
import { itRefuses, writeClientFiles, type ClientFiles } from "../../helpers/job-datastore";
import { asCa, forge, scopeOf } from "../../unit/pki/forge";
import { BIN, canRunPostgres, HOST, JobPgServer, PY_PATH, ZONE } from "./job-pg-server";

const ALICE = { dataCenter: "dc1", kind: "user" as const, name: "alice" };
const BOB = { dataCenter: "dc1", kind: "user" as const, name: "bob" };
/** alice's worker nodes: this one, another, and one by IPv6 (PostgreSQL must parse its line and map). */
const JOBS: JobAccessEntry[] = ["127.0.0.1", "127.0.0.3", "::1"].map((address) => ({
  database: "analytics",
  owner: ALICE,
  access: "read",
  workerDataCenter: "dc2",
  address,
}));

describe("job certificates at a real PostgreSQL 15 (pg_common.py's lines from jobAccess)", function () {
  this.timeout(120_000);
  const server = new JobPgServer();
  const { root } = server;
  const job = (name: string, owner: typeof ALICE, address: string, agoMs = 0) =>
    server.job(name, owner, address, agoMs);
  const userFiles = (name: string): ClientFiles => server.userFiles(name);
  const psqlAs = (role: string, files: ClientFiles) => server.psqlAs(role, files);

  before(async function () {
    if (!canRunPostgres()) this.skip();
    await server.start(JOBS);
  });

  after(() => server.stop());

  it("renders the job lines lib renders, before the users' CN catch-all", () => {
    const hba = fs.readFileSync(path.join(server.inst, "run", "pg_hba.conf"), "utf8").split("\n");
    const ident = fs.readFileSync(path.join(server.inst, "run", "pg_ident.conf"), "utf8").split("\n");
    const lib = pgJobLines(JOBS);
    const first = hba.indexOf(lib.hba[0]);
    assert.ok(first > 0, hba.join("\n"));
    assert.deepEqual(hba.slice(first, first + lib.hba.length + 1), [
      ...lib.hba,
      "hostssl all all 0.0.0.0/0 cert clientcert=verify-full map=certmap",
    ]);
    for (const line of lib.ident) assert.ok(ident.includes(line), `${line} in pg_ident.conf`);
  });

  it("lets alice's job certificate of this node read as alice", () => {
    assert.deepEqual(psqlAs("alice", job("alice-here", ALICE, "127.0.0.1")), { ok: true, out: "42" });
  });

  itRefuses<{ role: string; files: ClientFiles }>(
    [
      [
        "alice's job certificate of another node (taken here)",
        () => ({ role: "alice", files: job("alice-there", ALICE, "127.0.0.3") }),
        /certificate authentication failed for user "alice"/,
      ],
      [
        "bob's job certificate asking to be alice",
        () => ({ role: "alice", files: job("bob-here", BOB, "127.0.0.1") }),
        /certificate authentication failed/,
      ],
      [
        "bob's job certificate as bob (no job line for him: the CN map does not know dc1.bob)",
        () => ({ role: "bob", files: job("bob-as-bob", BOB, "127.0.0.1") }),
        /certificate authentication failed/,
      ],
      [
        "alice's user certificate from her worker node (jobs there use job certificates)",
        () => ({ role: "alice", files: userFiles("alice") }),
        /certificate authentication failed for user "alice"/,
      ],
      [
        "alice's expired job certificate",
        () => ({ role: "alice", files: job("alice-old", ALICE, "127.0.0.1", 2 * 3600_000) }),
        /alert certificate expired/,
      ],
      [
        "a job certificate from a site CA the root did not permit jobs",
        () => {
          const k = pki.generateKeyPair();
          const lax = asCa(
            forge(root.ca, {
              cn: "lax CA dc2",
              publicKey: k.publicKey,
              ca: { pathLen: 0, scope: scopeOf(ZONE, ["computer", "service"], ["127.0.0.0/8"]) },
            }),
            k.privateKey,
          );
          const leafKey = pki.generateKeyPair();
          const leaf = forge(lax, {
            cn: "dc1.alice",
            publicKey: leafKey.publicKey,
            eku: ["clientAuth"],
            dns: [HOST],
            ips: ["127.0.0.1"],
            uris: [`zeroroot://job.${ZONE}/dc1.alice`],
            notAfter: new Date(Date.now() + 600_000),
          });
          return {
            role: "alice",
            files: writeClientFiles(server.dir, "lax", leaf + lax.certificatePem, leafKey.privateKey),
          };
        },
        /alert certificate unknown/,
      ],
    ],
    (c) => psqlAs(c.role, c.files),
  );

  it("drops the node's lines when the node goes (jobAccess without it, reloaded): the catch-all applies again", async () => {
    const files = job("alice-before", ALICE, "127.0.0.1");
    assert.equal(psqlAs("alice", files).ok, true);
    assert.equal(
      psqlAs("alice", userFiles("alice")).ok,
      false,
      "her user certificate, while a job line holds",
    );
    const rendered = server.renderAsRelease(JOBS.filter((e) => e.address !== "127.0.0.1"));
    assert.ok(rendered.ok, rendered.out);
    assert.equal(
      server.asPostgres([`${BIN}/pg_ctl`, "reload", "-s", "-D", path.join(server.inst, "data")]).status,
      0,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const after = psqlAs("alice", files);
    assert.equal(after.ok, false, after.out);
    assert.match(after.out, /certificate authentication failed/);
    // no job line for alice here any more: her user certificate opens her role by its CN
    assert.deepEqual(psqlAs("alice", userFiles("alice")), { ok: true, out: "42" });
  });

  it("refuses a hostile jobAccess value with the parameter, file and line named, and writes nothing", () => {
    const hba = fs.readFileSync(path.join(server.inst, "run", "pg_hba.conf"), "utf8");
    fs.writeFileSync(
      path.join(server.inst, "etc", "job-access.txt"),
      "analytics dc1/user/alice read dc2 127.0.0.1/0\n",
    );
    const py = `import sys; sys.path[:0] = ${JSON.stringify(PY_PATH)}
import pg_common
pg_common.render_configs(${server.port})`;
    const r = server.asPostgres(["python3", "-B", "-c", py], {
      ZR_INSTANCE_DIR: server.inst,
      USER: "postgres",
    });
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      /parameter jobAccess \(etc\/job-access\.txt:1\): "analytics dc1\/user\/alice read dc2 127\.0\.0\.1\/0"/,
    );
    assert.doesNotMatch(r.stderr, /Traceback/);
    assert.equal(fs.readFileSync(path.join(server.inst, "run", "pg_hba.conf"), "utf8"), hba);
  });
});
