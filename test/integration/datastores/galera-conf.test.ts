/**
 * The mariadb-galera release's reader on the node (lab/releases/mariadb-galera/galera_conf.py, run
 * by python3 as on a server) against what the stack side writes: the release's templates rendered
 * by the agent's renderer with galeraParameters and the `access` parameter of zeroroot:dataAccess
 * are read back exactly; hostile or broken files are refused with file, line and value, so no
 * parameter can reach SQL or the member's addresses unchecked.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderInstance } from "../../../lib/agent/render";
import { galeraParameters } from "../../../lib/datastores/mariadb-galera";
import { datastoreParameters, serviceSchema, type DataAccessConfig } from "../../../lib/fleet";
import { partitionPaths } from "../../../lib/hardening/partitions";
import { galeraManifest } from "../../../lab/releases/mariadb-galera/release";

const RELEASE_DIR = join(__dirname, "../../../lab/releases/mariadb-galera");
// Files the release ships beside its own (crl_sources.py, job_access.py): where they live in the tree.
const SHIPPED_BESIDE = ["agents/crl", "agents/datastores"].map((d) => join(__dirname, "../../..", d));
const DC1 = "/O=zeroroot/CN=dc1.zeroroot.test issuing CA";
const DC2 = "/O=zeroroot/CN=dc2.zeroroot.test issuing CA";
const SITE2 = "/O=zeroroot/CN=zeroroot issuing CA dc2";

function readOnNode(inst: string): { ok: boolean; conf?: Record<string, unknown>; error?: string } {
  const py = `import json, sys; sys.path[:0] = ${JSON.stringify([RELEASE_DIR, ...SHIPPED_BESIDE])}
import galera_conf
try:
    print(json.dumps(galera_conf.read_conf(sys.argv[1])))
except galera_conf.ConfError as e:
    print(json.dumps({"error": str(e)}))`;
  const r = spawnSync("python3", ["-c", py, inst], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  return typeof out.error === "string" ? { ok: false, error: out.error } : { ok: true, conf: out };
}

describe("mariadb-galera configuration as the node reads it", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "zr-galera-conf-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const render = (dataAccess: DataAccessConfig, jobAccess = "") => {
    const manifest = galeraManifest("2099-01-01T00:00:00Z", () => "1:10.11.19-0+deb12u1");
    const service = serviceSchema.parse({
      name: "galera",
      release: `${manifest.name}@${manifest.version}`,
      placement: { role: "storage" },
      holdsData: true,
      minimumPersistence: "30d",
    });
    const paths = partitionPaths("zr-p001", dir);
    const r = renderInstance({
      spec: {
        name: "galera",
        release: { name: manifest.name, version: manifest.version, manifestDigest: "sha256:x" },
        partition: { user: "zr-p001", uid: 2101 },
        programs: [],
        endpoints: [],
        holdsData: true,
        minimumPersistenceSeconds: 1,
        parameters: {
          ...galeraParameters({
            cluster: "zeroroot",
            peers: ["10.0.1.10", "10.0.2.10", "10.0.3.10"],
            bootstrap: "10.0.1.10",
            userIssuers: { dc1: DC1, dc2: DC2 },
            jobIssuers: { dc2: SITE2 },
          }),
          crlSources: "site.dc1.zeroroot.test@10.0.1.1:8443", // read by crl_sources.py, tested there
          ...datastoreParameters(service, dataAccess, jobAccess),
        },
      },
      manifest,
      paths,
      releaseDir: RELEASE_DIR,
    });
    for (const f of r.files) {
      mkdirSync(join(paths.instanceDir, "etc"), { recursive: true });
      writeFileSync(join(paths.instanceDir, f.path), f.content);
    }
    return paths.instanceDir;
  };

  it("reads back exactly what the stack gave: peers, bootstrap, ports, issuers, every grant and job line", () => {
    const inst = render(
      [
        {
          service: "galera",
          database: "shop",
          grants: [
            { user: "dc1/user/alice", access: "readwrite" },
            { user: "dc2/user/bob", access: "read" },
          ],
        },
      ],
      "shop dc1/user/alice readwrite dc2 10.0.2.21\nshop dc2/user/bob read dc2 fd00::21",
    );
    const r = readOnNode(inst);
    assert.ok(r.ok, r.error);
    assert.deepEqual(r.conf, {
      cluster: "zeroroot",
      "sql-port": 3306,
      "galera-port": 4567,
      "ist-port": 4568,
      "sst-port": 4444,
      peers: ["10.0.1.10", "10.0.2.10", "10.0.3.10"],
      bootstrap: "10.0.1.10",
      "user-issuers": { dc1: DC1, dc2: DC2 },
      "job-issuers": { dc2: SITE2 },
      grants: [
        { identity: "dc1/user/alice", dc: "dc1", name: "alice", database: "shop", access: "readwrite" },
        { identity: "dc2/user/bob", dc: "dc2", name: "bob", database: "shop", access: "read" },
      ],
      jobs: [
        {
          database: "shop",
          dc: "dc1",
          name: "alice",
          identity: "dc1/user/alice",
          access: "readwrite",
          worker_dc: "dc2",
          address: "10.0.2.21",
          version: 4,
        },
        {
          database: "shop",
          dc: "dc2",
          name: "bob",
          identity: "dc2/user/bob",
          access: "read",
          worker_dc: "dc2",
          address: "fd00::21",
          version: 6,
        },
      ],
    });
  });

  const hostile: [string, string, string, RegExp][] = [
    [
      "SQL in a database name",
      "access.txt",
      "shop`;DROP dc1/user/alice read\n",
      /access.txt:1: .*allowed: <database> <dc>\/user\/<name>/,
    ],
    ["a quote in a user name", "access.txt", "shop dc1/user/al'ice read\n", /access.txt:1/],
    ["a software identity", "access.txt", "shop dc1/software/alice read\n", /access.txt:1/],
    ["an unknown access level", "access.txt", "shop dc1/user/alice admin\n", /access.txt:1/],
    [
      "a user of a data center with no issuer",
      "access.txt",
      "shop dc9/user/alice read\n",
      /no user-issuers entry for data center dc9/,
    ],
    [
      "the same grant twice",
      "access.txt",
      "shop dc1/user/alice read\nshop dc1/user/alice readwrite\n",
      /access.txt:2: .*twice \(first on line 1\)/,
    ],
    [
      "an unknown setting",
      "galera.conf",
      "wsrep_sst_auth = root:pw\n",
      /galera.conf:1: "wsrep_sst_auth" is not a setting/,
    ],
    ["a setting twice", "galera.conf", "cluster = a\ncluster = b\n", /cluster is set twice/],
    ["settings missing", "galera.conf", "cluster = a\n", /missing peers, bootstrap/],
    ["bytes that are not UTF-8", "galera.conf", "\xff\xfe", /not UTF-8/],
    ["a file larger than 64 KiB", "access.txt", "#".repeat(70_000), /larger than 65536 bytes/],
    // job-access.txt (parameter jobAccess): its shapes are the differential table's
    // (test/unit/compute/job-access-python.test.ts); here, that the release reads it and says where
    [
      "a job line in SQL's clothes",
      "job-access.txt",
      "shop dc1/user/alice' read dc1 10.0.1.21\n",
      /^parameter jobAccess \(.*etc\/job-access\.txt:1\): "shop dc1\/user\/alice' read dc1 10\.0\.1\.21"; allowed: /,
    ],
    [
      "a job line that repeats no grant",
      "job-access.txt",
      "shop dc1/user/alice read dc1 10.0.1.21\n",
      /job-access\.txt:1\): dc1\/user\/alice has no read grant on shop in access\.txt/,
    ],
    [
      "a job-access file larger than 256 KiB",
      "job-access.txt",
      "\n".repeat(262_145),
      /job-access\.txt: larger than 262144 bytes/,
    ],
  ];
  for (const [name, file, text, message] of hostile)
    it(`refuses ${name} with file, line and value`, () => {
      const inst = render([]);
      writeFileSync(
        join(inst, "etc", file),
        file === "galera.conf" && text === "\xff\xfe" ? Buffer.from([0xff, 0xfe]) : text,
      );
      const r = readOnNode(inst);
      assert.equal(r.ok, false, `accepted: ${JSON.stringify(r.conf)}`);
      assert.match(r.error!, message);
    });

  it("refuses a job line of a data center whose site CA jobIssuers does not name", () => {
    const inst = render(
      [{ service: "galera", database: "shop", grants: [{ user: "dc1/user/alice", access: "readwrite" }] }],
      "shop dc1/user/alice readwrite dc1 10.0.1.21",
    );
    const r = readOnNode(inst);
    assert.equal(r.ok, false, `accepted: ${JSON.stringify(r.conf)}`);
    assert.match(
      r.error!,
      /^parameter jobAccess \(.*job-access\.txt\): a job line of data center dc1 and no job-issuers entry for it; add its site CA's DN to the service's jobIssuers parameter$/,
    );
  });
});
