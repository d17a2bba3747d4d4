import { strict as assert } from "node:assert";
import {
  clusterEntryForDatastores,
  formatJobAccessLine,
  jobAccessEntries,
  jobAccessGaps,
  jobAccessParameter,
  mariadbJobAccount,
  pgJobLines,
} from "../../../lib/compute/job-access";
import type { ClusterConfig, DataAccessConfig, ServerConfig } from "../../../lib/fleet";

const server = (id: string, address: string, role: "compute" | "storage" = "compute") =>
  ({ id, address, roles: [role], hostname: `${id}.example`, macs: [], bmc: {} }) as unknown as ServerConfig;
const DC1 = [server("dc1-c01", "10.1.0.21"), server("dc1-s01", "10.1.0.11", "storage")];
const DC2 = [
  server("dc2-c02", "10.2.0.22"),
  server("dc2-c01", "10.2.0.21"),
  server("dc2-s01", "10.2.0.11", "storage"),
];

/** alice's cluster, five workers over dc1 and dc2, as dc1's stack holds it and as dc2's does. */
const inDc1: ClusterConfig = {
  owner: "dc1/user/alice",
  name: "analytics",
  release: "dask@2022.12.1",
  scheduler: { server: "dc1-c01", port: 8786 },
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
const carol: ClusterConfig = {
  ...inDc1,
  owner: "dc1/user/carol",
  name: "x",
  workers: { ...inDc1.workers, remoteComputeServers: {} },
};
const dataAccess = [
  {
    service: "postgresql",
    database: "analytics",
    grants: [
      { user: "dc1/user/alice", access: "read" },
      { user: "dc2/user/bob", access: "readwrite" }, // no cluster: no job lines
    ],
  },
  { service: "galera", database: "shop", grants: [{ user: "dc1/user/alice", access: "readwrite" }] },
] as unknown as DataAccessConfig;

const EXPECTED = [
  "analytics dc1/user/alice read dc1 10.1.0.21",
  "analytics dc1/user/alice read dc2 10.2.0.21",
  "analytics dc1/user/alice read dc2 10.2.0.22",
];

describe("where datastores accept job certificates (lib/compute/job-access.ts)", () => {
  it("lists each worker node of a grantee's clusters once, in every data center, sorted", () => {
    const entries = jobAccessEntries("postgresql", {
      dataAccess,
      clusters: [inDc1, carol],
      servers: DC1,
      dataCenter: "dc1",
    });
    assert.deepEqual(entries.map(formatJobAccessLine), EXPECTED);
  });

  it("gives the same entries from the stack of the workers' other data center", () => {
    const entries = jobAccessEntries("postgresql", {
      dataAccess,
      clusters: [inDc2],
      servers: DC2,
      dataCenter: "dc2",
    });
    assert.deepEqual(entries.map(formatJobAccessLine), EXPECTED);
  });

  it("gives nothing to a user without a grant on the service, or to a service nobody is granted", () => {
    assert.deepEqual(
      jobAccessEntries("galera", { dataAccess, clusters: [carol], servers: DC1, dataCenter: "dc1" }),
      [],
    );
    assert.deepEqual(
      jobAccessEntries("neo", { dataAccess, clusters: [inDc1], servers: DC1, dataCenter: "dc1" }),
      [],
    );
  });

  it("renders PostgreSQL lines bound to each node's address and job subject", () => {
    const entries = jobAccessEntries("postgresql", {
      dataAccess,
      clusters: [inDc1],
      servers: DC1,
      dataCenter: "dc1",
    });
    const { hba, ident } = pgJobLines(entries);
    assert.equal(
      hba[0],
      "hostssl analytics alice 10.1.0.21/32 cert clientcert=verify-full clientname=DN map=zrjobs-10.1.0.21",
    );
    assert.deepEqual(ident, [
      'zrjobs-10.1.0.21 "CN=dc1.alice,O=10.1.0.21" alice',
      'zrjobs-10.2.0.21 "CN=dc1.alice,O=10.2.0.21" alice',
      'zrjobs-10.2.0.22 "CN=dc1.alice,O=10.2.0.22" alice',
    ]);
    const v6 = pgJobLines([{ ...entries[0], address: "fd00::7" }]);
    assert.match(v6.hba[0], / fd00::7\/128 /);
  });

  it("renders the MariaDB account of a node with its subject and its data center's issuer", () => {
    const [e] = jobAccessEntries("galera", {
      dataAccess,
      clusters: [inDc1],
      servers: DC1,
      dataCenter: "dc1",
    });
    assert.deepEqual(mariadbJobAccount(e, "/CN=zeroroot issuing CA dc1"), {
      account: "'dc1/user/alice'@'10.1.0.21'",
      require: "REQUIRE SUBJECT '/O=10.1.0.21/CN=dc1.alice' AND ISSUER '/CN=zeroroot issuing CA dc1'",
    });
  });

  it("gives the parameter one line an entry, addresses in canonical text, and refuses what a server would", () => {
    const upper: ClusterConfig = {
      ...inDc1,
      workers: { ...inDc1.workers, remoteComputeServers: { dc2: ["FD00:0::21", "fd00::22"] } },
    };
    const src = { dataAccess, clusters: [upper], servers: DC1, dataCenter: "dc1" };
    assert.equal(
      jobAccessParameter("postgresql", src),
      [
        "analytics dc1/user/alice read dc1 10.1.0.21",
        "analytics dc1/user/alice read dc2 fd00::21",
        "analytics dc1/user/alice read dc2 fd00::22",
      ].join("\n"),
    );
    const multicast = {
      ...src,
      clusters: [{ ...upper, workers: { ...upper.workers, remoteComputeServers: { dc2: ["ff02::1"] } } }],
    };
    assert.throws(() => jobAccessParameter("postgresql", multicast), /parameter jobAccess line 2: .*ff02::1/);
  });

  it("warns of worker data centers a stack cannot place, whose jobs get no lines there", () => {
    const noRemote: ClusterConfig = {
      ...inDc1,
      workers: { ...inDc1.workers, remoteComputeServers: undefined },
    };
    assert.deepEqual(jobAccessGaps({ dataAccess, clusters: [inDc1], servers: DC1, dataCenter: "dc1" }), []);
    assert.deepEqual(jobAccessGaps({ dataAccess, clusters: [noRemote], servers: DC1, dataCenter: "dc1" }), [
      "the workers in dc2 of dc1/user/alice's cluster analytics get no job lines at postgresql in dc1: list dc2's compute servers under its workers.remoteComputeServers",
      "the workers in dc2 of dc1/user/alice's cluster analytics get no job lines at galera in dc1: list dc2's compute servers under its workers.remoteComputeServers",
    ]);
  });

  it("writes the entry of a stack that runs nothing of a cluster: the same lines as the stacks that run it", () => {
    const entry = clusterEntryForDatastores([inDc1, inDc2]);
    assert.ok(entry);
    assert.deepEqual(entry.scheduler, inDc2.scheduler);
    assert.deepEqual(entry.workers.remoteComputeServers, {
      dc1: ["10.1.0.21"],
      dc2: ["10.2.0.21", "10.2.0.22"],
    });
    const fromDc3 = jobAccessEntries("postgresql", {
      dataAccess,
      clusters: [entry],
      servers: [],
      dataCenter: "dc3",
    });
    assert.deepEqual(fromDc3.map(formatJobAccessLine), EXPECTED);
    assert.equal(clusterEntryForDatastores([inDc1]), undefined, "no stack names the scheduler's address");
  });
});
