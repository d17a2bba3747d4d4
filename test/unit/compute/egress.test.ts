import { strict as assert } from "node:assert";
import { join } from "node:path";
import {
  buildEgressRuleset,
  EGRESS_LIMITS,
  EgressInputError,
  renderEgressNft,
  type EgressEndpoint,
  type UserPartition,
} from "../../../lib/compute/egress";
import { grantedEndpoints } from "../../../lib/compute/grants";
import { checkStackConfig, placementOf, readStackFile } from "../../../lib/fleet";

const ALICE = "dc1/user/alice";
const BOB = "dc2/user/bob";
const pg = { address: "10.78.1.11", port: 5432 };
const sched = { address: "10.78.1.14", port: 8786 };

const build = (partitions: UserPartition[], grants: [string, EgressEndpoint[]][]) =>
  buildEgressRuleset(partitions, new Map(grants));

describe("per-uid egress ruleset (lib/compute/egress.ts)", () => {
  it("accepts each granted endpoint for the owner's uid, then drops and counts the rest", () => {
    const text = renderEgressNft(build([{ uid: 2100, owner: ALICE }], [[ALICE, [pg, sched]]]));
    const rules = text.split("\n").map((l) => l.trim());
    const at = (r: string) => rules.indexOf(r);
    assert.ok(at("meta skuid 2100 ip daddr 10.78.1.11 tcp dport 5432 accept") > 0);
    assert.ok(at("meta skuid 2100 ip daddr 10.78.1.14 tcp dport 8786 accept") > 0);
    const drop = at('meta skuid 2100 counter name "zr-drop-2100" drop');
    assert.ok(drop > at("meta skuid 2100 ip daddr 10.78.1.14 tcp dport 8786 accept"), "the drop comes last");
    assert.ok(at("counter zr-drop-2100 {") > 0, "the named counter is declared");
    assert.ok(
      at("ct state established,related accept") <
        at("meta skuid 2100 ip daddr 10.78.1.11 tcp dport 5432 accept"),
    );
    assert.ok(!/oifname|iifname|\blo\b/.test(text), "no loopback exemption");
  });

  it("restricts only the listed uids: every rule names a skuid, the policy is accept", () => {
    const text = renderEgressNft(build([{ uid: 2100, owner: ALICE }], [[ALICE, [pg]]]));
    const rules = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => / (accept|drop)$/.test(l));
    for (const r of rules)
      assert.ok(r.startsWith("meta skuid 2100 ") || r === "ct state established,related accept", r);
    assert.match(text, /policy accept;/);
  });

  it("gives an owner without grants only the counted drop; other owners' grants do not leak", () => {
    const m = build(
      [
        { uid: 2101, owner: BOB },
        { uid: 2100, owner: ALICE },
      ],
      [[ALICE, [pg]]],
    );
    assert.deepEqual(
      m.uids.map((u) => [u.uid, u.owner, u.allow.length]),
      [
        [2100, ALICE, 1],
        [2101, BOB, 0],
      ],
    );
    assert.ok(!/skuid 2101 ip/.test(renderEgressNft(m)));
  });

  it("is deterministic: same text for any input order, duplicates removed, IPv4 before IPv6", () => {
    const eps = [sched, { address: "fd00::a", port: 1 }, pg, pg, { address: "10.78.1.9", port: 5432 }];
    const a = renderEgressNft(
      build(
        [
          { uid: 2100, owner: ALICE },
          { uid: 2102, owner: ALICE },
        ],
        [[ALICE, eps]],
      ),
    );
    const b = renderEgressNft(
      build(
        [
          { uid: 2102, owner: ALICE },
          { uid: 2100, owner: ALICE },
        ],
        [[ALICE, [...eps].reverse()]],
      ),
    );
    assert.equal(a, b);
    const order = [...a.matchAll(/skuid 2100 ip6? daddr (\S+) tcp dport (\d+)/g)].map(
      (m) => `${m[1]}:${m[2]}`,
    );
    assert.deepEqual(order, ["10.78.1.9:5432", "10.78.1.11:5432", "10.78.1.14:8786", "fd00::a:1"]);
  });

  it("writes each IPv6 address in one canonical form (so equal addresses are one rule)", () => {
    const m = build(
      [{ uid: 2100, owner: ALICE }],
      [
        [
          ALICE,
          [
            { address: "FD00:0:0::A", port: 1 },
            { address: "fd00::a", port: 1 },
          ],
        ],
      ],
    );
    assert.deepEqual(m.uids[0].allow, [{ address: "fd00::a", port: 1 }]);
  });

  // Hostile or broken input: refused with the entry named, nothing rendered.
  const refused: [string, UserPartition[], [string, EgressEndpoint[]][], RegExp][] = [
    [
      "a platform uid (zr-agent range)",
      [{ uid: 1999, owner: ALICE }],
      [],
      /partitions\[0\]\.uid.*partition uid/,
    ],
    ["root", [{ uid: 0, owner: ALICE }], [], /partitions\[0\]\.uid/],
    ["a uid past the partitions", [{ uid: 3100, owner: ALICE }], [], /partitions\[0\]\.uid/],
    ["a fractional uid", [{ uid: 2100.5, owner: ALICE }], [], /partitions\[0\]\.uid/],
    ["a uid as text", [{ uid: "2100; drop" as unknown as number, owner: ALICE }], [], /partitions\[0\]\.uid/],
    [
      "a uid twice",
      [
        { uid: 2100, owner: ALICE },
        { uid: 2100, owner: BOB },
      ],
      [],
      /partitions\[1\]\.uid.*twice/,
    ],
    ["a service owner", [{ uid: 2100, owner: "dc1/service/etl" }], [], /partitions\[0\]\.owner/],
    [
      "an owner with a newline",
      [{ uid: 2100, owner: "dc1/user/a\n}\ntable ip x {" }],
      [],
      /partitions\[0\]\.owner/,
    ],
    [
      "a name instead of an address",
      [{ uid: 2100, owner: ALICE }],
      [[ALICE, [{ address: "db.example", port: 5432 }]]],
      /address.*IPv4 or IPv6/,
    ],
    [
      "a prefix",
      [{ uid: 2100, owner: ALICE }],
      [[ALICE, [{ address: "10.0.0.0/8", port: 5432 }]]],
      /address/,
    ],
    [
      "an injection in an address",
      [{ uid: 2100, owner: ALICE }],
      [[ALICE, [{ address: "10.0.0.1 accept\n", port: 1 }]]],
      /address/,
    ],
    [
      "an IPv6 zone",
      [{ uid: 2100, owner: ALICE }],
      [[ALICE, [{ address: "fe80::1%eth0", port: 1 }]]],
      /address/,
    ],
    [
      "port 0",
      [{ uid: 2100, owner: ALICE }],
      [[ALICE, [{ address: "10.0.0.1", port: 0 }]]],
      /port.*1 to 65535/,
    ],
    ["port 65536", [{ uid: 2100, owner: ALICE }], [[ALICE, [{ address: "10.0.0.1", port: 65536 }]]], /port/],
    [
      "a port range as text",
      [{ uid: 2100, owner: ALICE }],
      [[ALICE, [{ address: "10.0.0.1", port: "1-65535" as unknown as number }]]],
      /port/,
    ],
    [
      "too many endpoints for one owner",
      [{ uid: 2100, owner: ALICE }],
      [
        [
          ALICE,
          Array.from({ length: EGRESS_LIMITS.endpointsPerOwner + 1 }, (_, i) => ({
            address: "10.0.0.1",
            port: 1024 + i,
          })),
        ],
      ],
      /at most 512/,
    ],
    [
      "too many partitions",
      Array.from({ length: EGRESS_LIMITS.partitions + 1 }, (_, i) => ({ uid: 2100 + i, owner: ALICE })),
      [],
      /at most 1000/,
    ],
  ];
  for (const [what, partitions, grants, message] of refused)
    it(`refuses ${what}`, () => {
      assert.throws(
        () => renderEgressNft(build(partitions, grants)),
        (e: unknown) => e instanceof EgressInputError && message.test(e.message) && !/\n/.test(e.message),
      );
    });

  it("refuses more accept rules per server than the bound, before rendering", () => {
    const many = Array.from({ length: 512 }, (_, i) => ({ address: "10.0.0.1", port: 1024 + i }));
    const owners = Array.from({ length: 65 }, (_, i) => `dc1/user/u${i}`);
    assert.throws(
      () =>
        build(
          owners.map((owner, i) => ({ uid: 2100 + i, owner })),
          owners.map((o) => [o, many]),
        ),
      /more than 32768 accept rules/,
    );
  });
});

describe("grants resolved to endpoints (lib/compute/grants.ts)", () => {
  const raw = readStackFile(join(__dirname, "../../../stacks/Pulumi.dc1.yaml"));
  const values = {
    ...raw.values,
    "zeroroot:clusters": [
      {
        owner: ALICE,
        name: "analytics",
        release: "dask@2022.12.1",
        scheduler: { server: "dc1-c01", port: 8786 },
        workers: { count: 3, dataCenters: ["dc1", "dc2"], port: 8800 },
      },
    ],
  };
  const resolved = checkStackConfig({ ...raw, values }).value;
  if (resolved?.kind !== "dataCenter") throw new Error("the example stack must resolve");
  const src = {
    dataAccess: resolved.dataAccess,
    services: resolved.services,
    servers: resolved.dataCenter.servers,
    clusters: resolved.clusters,
    dataCenter: resolved.dataCenter.name,
  };
  const text = (eps: EgressEndpoint[]) => eps.map((e) => `${e.address}:${e.port}`).sort();
  // where the example places PostgreSQL (the datastore of alice's and bob's grants)
  const postgres = placementOf(
    src.services.find((x) => x.name === "postgresql")!,
    src.servers,
  ).map((id) => `${src.servers.find((x) => x.id === id)!.address}:5432`);

  it("alice: the postgresql servers (her grant), her scheduler, dc1's workers 0 and 2 on the two compute servers", () => {
    assert.ok(postgres.length > 0);
    assert.deepEqual(text(grantedEndpoints(ALICE, src)), [
      ...postgres,
      "10.78.1.14:8786",
      "10.78.1.14:8800",
      "10.78.1.15:8800",
    ]);
  });

  it("bob (a read grant, no cluster): the postgresql servers only", () => {
    assert.deepEqual(text(grantedEndpoints(BOB, src)), postgres);
  });

  it("a user with no grant and no cluster: nothing", () => {
    assert.deepEqual(grantedEndpoints("dc1/user/mallory", src), []);
  });
});
