/**
 * One rendering of job lines, two implementations: the stack side (lib/compute/job-access.ts) and
 * the servers' (agents/datastores/job_access.py, shipped in the PostgreSQL and MariaDB/Galera
 * releases). The same `jobAccess` values go through both, and both must give the same pg_hba and
 * pg_ident lines and the same MariaDB accounts, or both refuse: valid tables, and hostile values
 * (shape, names, addresses, sizes, counts, repeats). One python3 run evaluates the whole table.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import {
  JOB_ACCESS_LIMITS,
  mariadbJobAccount,
  parseJobAccess,
  pgJobLines,
} from "../../../lib/compute/job-access";

/** The worker data center's site CA DN (the galera service's jobIssuers parameter gives it on a server). */
const issuerOf = (dc: string) => `/O=zeroroot/CN=zeroroot issuing CA ${dc}`;
const PY_PATH = ["agents/datastores", "agents/crl"].map((d) => join(__dirname, "../../..", d));

interface Rendering {
  readonly ok: boolean;
  readonly hba?: string[];
  readonly ident?: string[];
  readonly accounts?: string[][];
  readonly error?: string;
}

function renderTs(text: string): Rendering {
  try {
    const entries = parseJobAccess(text);
    const { hba, ident } = pgJobLines(entries);
    const accounts = entries.map((e) => {
      const a = mariadbJobAccount(e, issuerOf(e.workerDataCenter));
      return [a.account, a.require];
    });
    return { ok: true, hba, ident, accounts };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** Every text through the Python reader and renderers, in one python3 run. */
function renderPython(texts: string[], grants?: string[][]): Rendering[] {
  const py = `import json, sys
sys.path[:0] = ${JSON.stringify(PY_PATH)}
from job_access import JobAccessError, mariadb_job_account, parse_job_access, pg_job_lines
i = json.load(sys.stdin)
grants = None if i["grants"] is None else {tuple(g) for g in i["grants"]}
out = []
for text in i["texts"]:
    try:
        entries = parse_job_access(text, "etc/job-access.txt", grants)
        hba, ident = pg_job_lines(entries)
        accounts = [list(mariadb_job_account(e, f"/O=zeroroot/CN=zeroroot issuing CA {e['worker_dc']}")) for e in entries]
        out.append({"ok": True, "hba": hba, "ident": ident, "accounts": accounts})
    except JobAccessError as e:
        out.append({"ok": False, "error": str(e)})
print(json.dumps(out))`;
  const r = spawnSync("python3", ["-B", "-c", py], {
    input: JSON.stringify({ texts, grants: grants ?? null }),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Rendering[];
}

const VALID: [string, string][] = [
  ["nothing (a datastore no cluster uses)", ""],
  ["one worker node", "analytics dc1/user/alice read dc1 10.1.0.21"],
  [
    "workers in two data centers, two databases on one node (one pg_ident line for it)",
    [
      "analytics dc1/user/alice read dc1 10.1.0.21",
      "analytics dc1/user/alice read dc2 10.2.0.21",
      "shop dc1/user/alice readwrite dc1 10.1.0.21",
      "shop dc2/user/b.o_b-2 read dc2 10.2.0.22",
    ].join("\n"),
  ],
  [
    "an IPv6 worker (/128)",
    "analytics dc1/user/alice read dc1 fd00:1::21\nanalytics dc1/user/alice read dc1 ::a01:1",
  ],
  ["a trailing newline, as the template renders it", "analytics dc1/user/alice read dc1 10.1.0.21\n"],
];

const long = (n: number) => "a".repeat(n);
const many = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => `db dc1/user/alice read dc1 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
  ).join("\n");
const OK = "analytics dc1/user/alice read dc1 10.1.0.21";
const HOSTILE: [string, string][] = [
  ["two spaces between fields", "analytics  dc1/user/alice read dc1 10.1.0.21"],
  ["a tab", "analytics\tdc1/user/alice read dc1 10.1.0.21"],
  ["a leading space", ` ${OK}`],
  ["a trailing space", `${OK} `],
  ["a carriage return", `${OK}\r\n`],
  ["a comment", `# where jobs go\n${OK}`],
  ["a missing field", "analytics dc1/user/alice read 10.1.0.21"],
  ["an extra field", `${OK} extra`],
  ["an upper-case database", "Analytics dc1/user/alice read dc1 10.1.0.21"],
  ["SQL in the database", "analytics`;DROP dc1/user/alice read dc1 10.1.0.21"],
  ["a quote in the user name", "analytics dc1/user/al'ice read dc1 10.1.0.21"],
  ["a user name ending with a dot", "analytics dc1/user/alice. read dc1 10.1.0.21"],
  ["a 65-character user name", `analytics dc1/user/${long(65)} read dc1 10.1.0.21`],
  ["a service identity", "analytics dc1/service/alice read dc1 10.1.0.21"],
  ["a job identity", "analytics dc1/job/dc1.alice read dc1 10.1.0.21"],
  ["an unknown access level", "analytics dc1/user/alice admin dc1 10.1.0.21"],
  ["an upper-case worker data center", "analytics dc1/user/alice read DC1 10.1.0.21"],
  ["a fullwidth letter", "ａnalytics dc1/user/alice read dc1 10.1.0.21"],
  ["a zero-width space", "analytics dc1/user/al\u200bice read dc1 10.1.0.21"],
  ["a right-to-left override", "analytics dc1/user/alice read dc1 10.1.0.21\u202e"],
  ["an IPv4 address with a leading zero", "analytics dc1/user/alice read dc1 10.1.0.021"],
  ["an IPv4 octet over 255", "analytics dc1/user/alice read dc1 10.1.0.256"],
  ["three octets", "analytics dc1/user/alice read dc1 10.1.21"],
  ["a prefix", "analytics dc1/user/alice read dc1 10.1.0.0/24"],
  ["the unspecified IPv4 address", "analytics dc1/user/alice read dc1 0.0.0.0"],
  ["an IPv4 multicast address", "analytics dc1/user/alice read dc1 224.0.0.1"],
  ["the unspecified IPv6 address", "analytics dc1/user/alice read dc1 ::"],
  ["an IPv6 multicast address", "analytics dc1/user/alice read dc1 ff02::1"],
  ["an upper-case IPv6 address", "analytics dc1/user/alice read dc1 FD00:1::21"],
  ["a non-canonical IPv6 address", "analytics dc1/user/alice read dc1 fd00:1:0::21"],
  ["an IPv6 address with an embedded IPv4", "analytics dc1/user/alice read dc1 ::10.1.0.1"],
  ["an IPv4-mapped IPv6 address", "analytics dc1/user/alice read dc1 ::ffff:a01:15"],
  ["an IPv6 zone", "analytics dc1/user/alice read dc1 fe80::1%eth0"],
  ["a host name", "analytics dc1/user/alice read dc1 c01.dc1.example"],
  ["a repeated entry", `${OK}\n${OK}`],
  ["a line of more than 200 characters", `${long(63)} dc1/user/${long(64)} readwrite ${long(60)} 10.1.0.21`],
  [`more than ${JOB_ACCESS_LIMITS.entries} entries`, many(JOB_ACCESS_LIMITS.entries + 1)],
  [`more than ${JOB_ACCESS_LIMITS.bytes} bytes`, `${OK}${"\n".repeat(JOB_ACCESS_LIMITS.bytes)}`],
];

describe("job lines: the stack's rendering and the datastores' agree (job-access.ts and job_access.py)", function () {
  this.timeout(60_000);
  const texts = [...VALID, ...HOSTILE].map(([, t]) => t);
  let py: Rendering[];
  before(() => (py = renderPython(texts)));

  VALID.forEach(([what, text], i) =>
    it(`renders ${what} the same`, () => {
      const ts = renderTs(text);
      assert.equal(ts.ok, true, ts.error);
      assert.deepEqual(py[i], ts);
    }),
  );

  it("renders the exact lines docs/compute.md shows", () => {
    assert.deepEqual(
      py[2].hba?.[0],
      "hostssl analytics alice 10.1.0.21/32 cert clientcert=verify-full clientname=DN map=zrjobs-10.1.0.21",
    );
    assert.deepEqual(py[2].ident, [
      'zrjobs-10.1.0.21 "CN=dc1.alice,O=10.1.0.21" alice',
      'zrjobs-10.2.0.21 "CN=dc1.alice,O=10.2.0.21" alice',
      'zrjobs-10.2.0.22 "CN=dc2.b.o_b-2,O=10.2.0.22" b.o_b-2',
    ]);
    assert.deepEqual(py[2].accounts?.[1], [
      "'dc1/user/alice'@'10.2.0.21'",
      "REQUIRE SUBJECT '/O=10.2.0.21/CN=dc1.alice' AND ISSUER '/O=zeroroot/CN=zeroroot issuing CA dc2'",
    ]);
    assert.equal(
      py[3].hba?.[0],
      "hostssl analytics alice fd00:1::21/128 cert clientcert=verify-full clientname=DN map=zrjobs-fd00:1::21",
    );
  });

  HOSTILE.forEach(([what, text], i) =>
    it(`both refuse ${what}`, () => {
      const ts = renderTs(text);
      const p = py[VALID.length + i];
      assert.equal(ts.ok, false, `the stack side accepted it: ${JSON.stringify(ts)}`);
      assert.equal(p.ok, false, `job_access.py accepted it: ${JSON.stringify(p)}`);
      // the servers' message names the parameter and the file; no control or bidi character reaches a log
      assert.match(p.error ?? "", /^parameter jobAccess \(etc\/job-access\.txt(:\d+)?\): /);
      assert.doesNotMatch(p.error ?? "", /[^ -~]/, "printable ASCII only: received values are escaped");
      assert.match(ts.error ?? "", /parameter jobAccess/);
    }),
  );

  it("refuses on the server an entry that repeats no grant of access.txt (a job line never widens a grant)", () => {
    const grants = [["analytics", "dc1/user/alice", "read"]];
    const [ok, widened, other] = renderPython(
      [OK, "analytics dc1/user/alice readwrite dc1 10.1.0.21", "shop dc1/user/alice read dc1 10.1.0.21"],
      grants,
    );
    assert.equal(ok.ok, true, ok.error);
    assert.match(
      widened.error ?? "",
      /etc\/job-access\.txt:1\): dc1\/user\/alice has no readwrite grant on analytics/,
    );
    assert.match(other.error ?? "", /has no read grant on shop/);
  });
});
