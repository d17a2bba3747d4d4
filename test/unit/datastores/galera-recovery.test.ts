/**
 * Who may start the Galera cluster again after every member stopped: the release's pure decision
 * (lab/releases/mariadb-galera/galera_recovery.py) and its checks of peers' reports and certificates
 * (galera_peers.py), run by python3 as on a server. One python3 run evaluates the whole table.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const RELEASE_DIR = join(__dirname, "../../../lab/releases/mariadb-galera");
const [A, B, C] = ["10.0.1.11", "10.0.2.11", "10.0.3.11"];
const PEERS = [A, B, C];
const CLUSTER = "zeroroot";
const U1 = "6ac9c93f-edc9-11f1-a7a3-be5094e06f72";
const U2 = "0badc0de-edc9-11f1-a7a3-be5094e06f72";

type Report = Record<string, unknown>;
const pos = (seqno: number, uuid = U1, cluster = CLUSTER): Report => ({
  state: "position",
  cluster,
  uuid,
  seqno,
});
const empty = (cluster = CLUSTER): Report => ({ state: "empty", cluster });
const unknown = (why: string): Report => ({ state: "unknown", why });
const running: Report = { state: "running" };

interface DecideCase {
  readonly title: string;
  readonly me: string;
  readonly reports: Record<string, Report>;
  readonly action: string;
  readonly reason: RegExp;
}

/** Runs python3 once: decide() for every case, parse_report() and check_peer() for theirs. */
function onNode(input: unknown): {
  decide: [string, string][];
  parse: string[];
  peer: (string | null)[];
} {
  const py = `import json, sys; sys.path.insert(0, ${JSON.stringify(RELEASE_DIR)})
from galera_recovery import decide, parse_report, ReportError
from galera_peers import check_peer
i = json.load(sys.stdin)
out = {"decide": [list(decide(c["me"], i["peers"], i["peers"][0], i["cluster"], c["reports"])) for c in i["decide"]], "parse": [], "peer": []}
for raw in i["parse"]:
    try:
        out["parse"].append(json.dumps(parse_report(raw.encode("utf-8")), sort_keys=True))
    except ReportError as e:
        out["parse"].append("refused: " + str(e))
for c in i["peer"]:
    out["peer"].append(check_peer({"subjectAltName": [tuple(x) for x in c]}, ("service", "dc1", "example.com", "galera.s1.dc1.example.com"), {"dc1", "dc2", "dc3"}))
print(json.dumps(out))`;
  const r = spawnSync("python3", ["-B", "-c", py], { input: JSON.stringify(input), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ReturnType<typeof onNode>;
}

const DECIDE: DecideCase[] = [
  {
    title: "waits while one member's position is unknown, even holding the newest state",
    me: A,
    reports: { [A]: pos(20), [B]: pos(10), [C]: unknown("no report (ConnectionRefusedError)") },
    action: "wait",
    reason: /10\.0\.3\.11: no report .*every member's position is known/,
  },
  {
    title: "waits while a peer's certificate was refused (its position counts as unknown)",
    me: A,
    reports: { [A]: pos(20), [B]: pos(10), [C]: unknown("refused its certificate: certificate revoked") },
    action: "wait",
    reason: /certificate revoked/,
  },
  {
    title: "the member with the highest seqno bootstraps",
    me: B,
    reports: { [A]: pos(10), [B]: pos(12), [C]: pos(11) },
    action: "bootstrap",
    reason: /newest state 6ac9c93f.*:12/,
  },
  {
    title: "a member with a lower seqno waits for the newest one",
    me: A,
    reports: { [A]: pos(10), [B]: pos(12), [C]: pos(11) },
    action: "wait",
    reason: /10\.0\.2\.11 holds the newest state \(seqno 12\)/,
  },
  {
    title: "equal positions: the first member in peers order bootstraps",
    me: A,
    reports: { [A]: pos(17), [B]: pos(17), [C]: pos(17) },
    action: "bootstrap",
    reason: /newest state/,
  },
  {
    title: "equal positions: the others wait for the first in peers order",
    me: C,
    reports: { [A]: pos(17), [B]: pos(17), [C]: pos(17) },
    action: "wait",
    reason: /10\.0\.1\.11 holds the newest state/,
  },
  {
    title: "refuses when a member claims a higher seqno with another cluster UUID, and names it",
    me: A,
    reports: { [A]: pos(17), [B]: pos(17), [C]: pos(900, U2) },
    action: "refuse",
    reason: /10\.0\.3\.11 \(0badc0de-.*:900\) claim another history than this member's 6ac9c93f/,
  },
  {
    title: "the member with the other history refuses too (no member bootstraps)",
    me: C,
    reports: { [A]: pos(17), [B]: pos(17), [C]: pos(900, U2) },
    action: "refuse",
    reason: /another history/,
  },
  {
    title: "refuses a peer that reports another cluster name",
    me: A,
    reports: { [A]: pos(17), [B]: pos(17), [C]: pos(17, U1, "other") },
    action: "refuse",
    reason: /10\.0\.3\.11 \(cluster other\) belong to another cluster than zeroroot/,
  },
  {
    title: "refuses while a member could not recover its position",
    me: A,
    reports: { [A]: pos(17), [B]: pos(-1), [C]: pos(17) },
    action: "refuse",
    reason: /10\.0\.2\.11 could not recover its position/,
  },
  {
    title: "joins a peer that runs Galera, whatever the positions",
    me: A,
    reports: { [A]: pos(999), [B]: running, [C]: unknown("no report") },
    action: "join",
    reason: /10\.0\.2\.11 runs Galera/,
  },
  {
    title: "an empty member among members holding data waits for them",
    me: B,
    reports: { [A]: pos(17), [B]: empty(), [C]: pos(17) },
    action: "wait",
    reason: /hold data: this empty member joins/,
  },
  {
    title: "the named bootstrap member with no data does not found a cluster while another member holds data",
    me: A,
    reports: { [A]: empty(), [B]: pos(3), [C]: unknown("no report") },
    action: "wait",
    reason: /10\.0\.2\.11 hold data/,
  },
  {
    title: "an empty member elsewhere does not count: the newest holder bootstraps",
    me: C,
    reports: { [A]: pos(5), [B]: empty(), [C]: pos(8) },
    action: "bootstrap",
    reason: /:8/,
  },
  {
    title: "first start: the named bootstrap member founds once a majority reports no data",
    me: A,
    reports: { [A]: empty(), [B]: empty(), [C]: unknown("no report") },
    action: "found",
    reason: /founding zeroroot/,
  },
  {
    title: "first start: the named bootstrap member alone does not found",
    me: A,
    reports: { [A]: empty(), [B]: unknown("no report"), [C]: unknown("no report") },
    action: "wait",
    reason: /majority reporting no data \(1 of 3/,
  },
  {
    title: "first start: another member never founds",
    me: B,
    reports: { [A]: empty(), [B]: empty(), [C]: empty() },
    action: "wait",
    reason: /only 10\.0\.1\.11 founds/,
  },
];

const big = "x".repeat(2000);
const PARSE: { title: string; raw: string; result: RegExp }[] = [
  { title: "of a position is read", raw: JSON.stringify({ v: 1, ...pos(42) }), result: /"seqno": 42/ },
  {
    title: "of an empty member is read",
    raw: JSON.stringify({ v: 1, ...empty() }),
    result: /"state": "empty"/,
  },
  {
    title: "over 1024 bytes is refused",
    raw: JSON.stringify({ v: 1, ...empty(), pad: big }),
    result: /refused: report larger than 1024/,
  },
  { title: "that is not JSON is refused", raw: "seqno: 9", result: /refused: report is not JSON/ },
  {
    title: "of another version is refused",
    raw: JSON.stringify({ v: 2, ...pos(1) }),
    result: /refused: .*version 1/,
  },
  {
    title: "claiming to run is refused (running is seen, not told)",
    raw: JSON.stringify({ v: 1, state: "running", cluster: CLUSTER }),
    result: /refused: report's state/,
  },
  {
    title: "with an extra field is refused",
    raw: JSON.stringify({ v: 1, ...pos(1), safe: 1 }),
    result: /refused: report's state/,
  },
  {
    title: "with a seqno as text is refused",
    raw: JSON.stringify({ v: 1, ...pos(1), seqno: "99" }),
    result: /refused: .*seqno is not an integer/,
  },
  {
    title: "with a boolean seqno is refused",
    raw: JSON.stringify({ v: 1, ...pos(1), seqno: true }),
    result: /refused: .*seqno/,
  },
  {
    title: "with a seqno beyond 2^63-1 is refused",
    raw: `{"v":1,"state":"position","cluster":"zeroroot","uuid":"${U1}","seqno":9223372036854775808}`,
    result: /refused: .*seqno/,
  },
  {
    title: "with a malformed uuid is refused",
    raw: JSON.stringify({ v: 1, ...pos(1), uuid: "6ac9c93f;DROP" }),
    result: /refused: .*uuid/,
  },
  {
    title: "with a bad cluster name is refused",
    raw: JSON.stringify({ v: 1, ...pos(1), cluster: "Zero Root" }),
    result: /refused: .*cluster name/,
  },
];

const uri = (u: string) => ["URI", u];
const PEER: { title: string; san: string[][]; refused: RegExp | null }[] = [
  {
    title: "of another data center's Galera member is accepted",
    san: [
      ["DNS", "galera.s1.dc2.example.com"],
      uri("zeroroot://service.dc2.example.com/galera.s1.dc2.example.com"),
    ],
    refused: null,
  },
  {
    title: "of another service (postgresql) is refused",
    san: [uri("zeroroot://service.dc1.example.com/postgresql.s1.dc1.example.com")],
    refused: /dc1\/service\/postgresql\.s1\.dc1\.example\.com is not a galera service certificate/,
  },
  {
    title: "of a computer is refused",
    san: [uri("zeroroot://computer.dc1.example.com/galera.s1.dc1.example.com")],
    refused: /is a computer certificate/,
  },
  {
    title: "of a user is refused",
    san: [uri("zeroroot://user.dc1.example.com/galera")],
    refused: /is a user certificate/,
  },
  {
    title: "of a data center outside the platform is refused",
    san: [uri("zeroroot://service.dc9.example.com/galera.s1.dc9.example.com")],
    refused: /data center dc9, not one of the platform's \(dc1, dc2, dc3\)/,
  },
  {
    title: "of another domain is refused",
    san: [uri("zeroroot://service.dc1.example.org/galera.s1.dc1.example.org")],
    refused: /domain example\.org, not example\.com/,
  },
  {
    title: "without an identity URI is refused",
    san: [["DNS", "galera.s1.dc1.example.com"]],
    refused: /0 identity URIs/,
  },
  {
    title: "with two identity URIs is refused",
    san: [
      uri("zeroroot://service.dc1.example.com/galera.s1.dc1.example.com"),
      uri("zeroroot://service.dc2.example.com/galera.s1.dc2.example.com"),
    ],
    refused: /2 identity URIs/,
  },
];

describe("Galera recovery after every member stopped: who starts the cluster (galera_recovery.decide)", () => {
  const scenarios: Record<string, Report>[] = [
    { [A]: pos(10), [B]: pos(12), [C]: pos(11) },
    { [A]: pos(17), [B]: pos(17), [C]: pos(17) },
    { [A]: pos(5), [B]: empty(), [C]: pos(8) },
    { [A]: pos(17), [B]: pos(17), [C]: pos(900, U2) },
    { [A]: empty(), [B]: empty(), [C]: empty() },
  ];
  let out: ReturnType<typeof onNode>;
  before(() => {
    // every member of each scenario decides on the same reports (its own included)
    const everyone = scenarios.flatMap((reports) => PEERS.map((me) => ({ me, reports })));
    out = onNode({
      peers: PEERS,
      cluster: CLUSTER,
      decide: [...DECIDE, ...everyone],
      parse: PARSE.map((p) => p.raw),
      peer: PEER.map((p) => p.san),
    });
  });

  DECIDE.forEach((c, i) =>
    it(c.title, () => {
      const [action, reason] = out.decide[i];
      assert.equal(action, c.action, reason);
      assert.match(reason, c.reason);
    }),
  );

  it("never lets two members start a cluster from the same reports", () => {
    scenarios.forEach((_, n) => {
      const actions = PEERS.map((_, k) => out.decide[DECIDE.length + n * PEERS.length + k][0]);
      const starting = actions.filter((a) => a === "bootstrap" || a === "found");
      assert.ok(starting.length <= 1, `scenario ${n}: ${actions.join(", ")}`);
      if (n === 3) assert.deepEqual(actions, ["refuse", "refuse", "refuse"]);
      else assert.equal(starting.length, 1, `scenario ${n}: ${actions.join(", ")}`);
    });
  });

  PARSE.forEach((c, i) =>
    it(`report ${c.title}`, () => {
      assert.match(out.parse[i], c.result);
    }),
  );

  PEER.forEach((c, i) =>
    it(`peer certificate ${c.title}`, () => {
      if (c.refused === null) assert.equal(out.peer[i], null);
      else assert.match(out.peer[i] ?? "accepted", c.refused);
    }),
  );
});
