/**
 * The desired egress of a partition, carried by the signed desired state (`zeroroot.egress`, set by
 * the stack program on each cluster process), and the rules file the agent hands to PID 1
 * (lib/compute/egress-desired.ts). Remote cluster members come from `workers.remoteComputeServers`
 * and are placed exactly as their own stack places them (lib/compute/grants.ts).
 */
import { strict as assert } from "node:assert";
import { clusterServices, OWNER_PARAMETER } from "../../../lib/compute/cluster-services";
import { EgressInputError } from "../../../lib/compute/egress";
import {
  EGRESS_PARAMETER,
  formatEgressParameter,
  parseEgressParameter,
  renderPartitionEgressRules,
} from "../../../lib/compute/egress-desired";
import { grantedEndpoints, remoteWorkers } from "../../../lib/compute/grants";
import { clusterLayout } from "../../../lib/compute/layout";
import type { ClusterConfig, DataAccessConfig, ServerConfig, ServiceConfig } from "../../../lib/fleet";

const server = (id: string, address: string, role: "compute" | "storage" = "compute") =>
  ({ id, address, roles: [role], hostname: `${id}.example`, macs: [], bmc: {} }) as unknown as ServerConfig;
const DC1 = [server("dc1-c01", "10.1.0.21"), server("dc1-s01", "10.1.0.11", "storage")];
const DC2 = [
  server("dc2-c02", "10.2.0.22"),
  server("dc2-c01", "10.2.0.21"),
  server("dc2-s01", "10.2.0.11", "storage"),
];
const ALICE = "dc1/user/alice";

/** alice's cluster as dc1's stack holds it (scheduler here) and as dc2's does (scheduler remote). */
const inDc1: ClusterConfig = {
  owner: ALICE,
  name: "analytics",
  release: "dask@2022.12.1",
  scheduler: { server: "dc1-c01", port: 8786 },
  // dc2's compute servers in id order, as dc2's stack lists them
  workers: {
    count: 5,
    dataCenters: ["dc1", "dc2"],
    port: 8800,
    remoteComputeServers: { dc2: ["10.2.0.21", "10.2.0.22"] },
  },
};
const inDc2: ClusterConfig = {
  ...inDc1,
  scheduler: { dataCenter: "dc1", server: "dc1-c01", address: "10.1.0.21", port: 8786 },
  workers: { ...inDc1.workers, remoteComputeServers: { dc1: ["10.1.0.21"] } },
};
const postgres: ServiceConfig = {
  name: "postgresql",
  release: "postgresql@15.20.2",
  placement: { servers: ["dc1-s01"] },
  holdsData: true,
  endpoints: [{ port: 5432, protocol: "tcp", tls: true, requireClientCertificate: true }],
  parameters: {},
} as unknown as ServiceConfig;
const dataAccess = [
  { service: "postgresql", database: "analytics", grants: [{ user: ALICE, access: "readwrite" }] },
] as unknown as DataAccessConfig;
const text = (eps: readonly { address: string; port: number }[]) => eps.map((e) => `${e.address}:${e.port}`);

describe("desired egress of a partition (lib/compute/egress-desired.ts)", () => {
  it("writes endpoints sorted, unique and canonical, IPv6 in brackets, and reads them back", () => {
    const value = formatEgressParameter([
      { address: "10.2.0.21", port: 8800 },
      { address: "fd00:0::5", port: 8786 },
      { address: "10.1.0.21", port: 8786 },
      { address: "10.2.0.21", port: 8800 },
    ]);
    assert.equal(value, "10.1.0.21:8786 10.2.0.21:8800 [fd00::5]:8786");
    assert.deepEqual(text(parseEgressParameter(value, "p")), [
      "10.1.0.21:8786",
      "10.2.0.21:8800",
      "fd00::5:8786",
    ]);
    assert.deepEqual(parseEgressParameter("", "p"), [], "an empty list grants nothing");
  });

  it("renders one PID-1-shaped accept line per endpoint and nothing else", () => {
    assert.equal(
      renderPartitionEgressRules(2101, parseEgressParameter("10.1.0.21:8786 [fd00::5]:8800", "p")),
      "meta skuid 2101 ip daddr 10.1.0.21 tcp dport 8786 accept\n" +
        "meta skuid 2101 ip6 daddr fd00::5 tcp dport 8800 accept\n",
    );
    assert.equal(renderPartitionEgressRules(2101, []), "");
  });

  const hostile: [string, unknown, RegExp][] = [
    ["a number", 8786, /not a string/],
    ["a host name", "db.example:5432", /\[0\]: got "db\.example:5432"; allowed: address:port/],
    ["an address without a port", "10.1.0.21", /allowed: address:port/],
    ["an IPv6 address without brackets", "fd00::5:8786", /allowed: address:port/],
    ["a zone", "[fe80::1%eth0]:8786", /allowed: address:port/],
    ["a prefix", "10.1.0.0/16:8786", /allowed: address:port/],
    ["port 0", "10.1.0.21:0", /\[0\]\.port: got 0; allowed: a TCP port/],
    ["port 65536", "10.1.0.21:65536", /a TCP port from 1 to 65535/],
    ["an octet over 255", "10.1.0.256:8786", /an IPv4 or IPv6 address/],
    ["a doubled space", "10.1.0.21:8786  10.1.0.22:8786", /\[1\]: got ""/],
    ["a newline", "10.1.0.21:8786\n10.1.0.22:8786", /allowed: address:port/],
    ["an nft statement", "10.1.0.21:8786 accept;", /\[1\]: got "accept;"/],
    [
      "more endpoints than the bound",
      Array.from({ length: 513 }, (_, i) => `10.1.0.1:${1024 + i}`).join(" "),
      /513 endpoints; at most 512/,
    ],
    ["an oversized value", "1".repeat(30_000), /characters; at most/],
  ];
  for (const [what, value, want] of hostile)
    it(`refuses ${what} in zeroroot.egress, naming the instance`, () => {
      assert.throws(
        () => parseEgressParameter(value, "instance dask-w0: parameter zeroroot.egress"),
        (e: unknown) =>
          e instanceof EgressInputError &&
          e.message.startsWith("instance dask-w0: parameter zeroroot.egress") &&
          want.test(e.message) &&
          !/\n/.test(e.message),
      );
    });
});

describe("cluster members in other data centers (lib/compute/grants.ts)", () => {
  it("places dc2's workers from dc1's stack exactly where dc2's stack runs them", () => {
    const there = clusterLayout(inDc2, "dc2", DC2).workers;
    assert.deepEqual(text(remoteWorkers(inDc1, "dc1")), text(there));
    assert.deepEqual(text(there), ["10.2.0.21:8800", "10.2.0.22:8800"]);
  });

  it("places dc1's workers from dc2's stack exactly where dc1's stack runs them", () => {
    assert.deepEqual(text(remoteWorkers(inDc2, "dc2")), text(clusterLayout(inDc1, "dc1", DC1).workers));
  });

  it("grants no remote member when the other data center's servers are not given", () => {
    const { remoteComputeServers: _, ...workers } = inDc1.workers;
    assert.deepEqual(remoteWorkers({ ...inDc1, workers }, "dc1"), []);
  });
});

describe("the stack program's cluster processes carry their desired egress", () => {
  const services = clusterServices([inDc1], {
    dataCenter: "dc1",
    domain: "zeroroot.test",
    servers: DC1,
    grants: { dataAccess, services: [postgres] },
  });

  it("each process of alice's cluster may reach her datastore, her scheduler and every worker of both data centers", () => {
    const want =
      "10.1.0.11:5432 10.1.0.21:8786 10.1.0.21:8800 10.1.0.21:8801 10.1.0.21:8802 10.2.0.21:8800 10.2.0.22:8800";
    assert.deepEqual(
      services.map((s) => [s.name, s.parameters[OWNER_PARAMETER], s.parameters[EGRESS_PARAMETER]]),
      [
        ["dask-dc1-alice-analytics-s", ALICE, want],
        ["dask-dc1-alice-analytics-w0", ALICE, want],
        ["dask-dc1-alice-analytics-w2", ALICE, want],
        ["dask-dc1-alice-analytics-w4", ALICE, want],
      ],
    );
    assert.equal(
      services[0].parameters[EGRESS_PARAMETER],
      formatEgressParameter(
        grantedEndpoints(ALICE, {
          dataAccess,
          services: [postgres],
          servers: DC1,
          clusters: [inDc1],
          dataCenter: "dc1",
        }),
      ),
    );
  });

  it("in dc2, the same cluster members from the other side: dc1's scheduler and workers, dc2's workers", () => {
    const dc2 = clusterServices([inDc2], {
      dataCenter: "dc2",
      domain: "zeroroot.test",
      servers: DC2,
      grants: { dataAccess: [], services: [] },
    });
    assert.equal(
      dc2[0].parameters[EGRESS_PARAMETER],
      "10.1.0.21:8786 10.1.0.21:8800 10.1.0.21:8801 10.1.0.21:8802 10.2.0.21:8800 10.2.0.22:8800",
    );
  });

  it("without grants to resolve, no egress parameter is made up", () => {
    const bare = clusterServices([inDc1], { dataCenter: "dc1", domain: "zeroroot.test", servers: DC1 });
    assert.ok(bare.every((s) => !(EGRESS_PARAMETER in s.parameters)));
  });
});
