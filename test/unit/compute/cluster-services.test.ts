/**
 * A cluster entry becomes service instances: where each process runs (lib/compute/layout.ts), and
 * the services the stack program adds for them (lib/compute/cluster-services.ts), each in a
 * partition of its own with the parameters the release's start program takes.
 */
import { strict as assert } from "node:assert";
import { clusterServices, OWNER_PARAMETER } from "../../../lib/compute/cluster-services";
import { clusterLabel, clusterLayout } from "../../../lib/compute/layout";
import {
  buildInstances,
  type ClusterConfig,
  type LoadedRelease,
  type ServerConfig,
} from "../../../lib/fleet";

const server = (id: string, address: string, role: "compute" | "storage" = "compute") =>
  ({ id, address, roles: [role], hostname: `${id}.example`, macs: [], bmc: {} }) as unknown as ServerConfig;
const DC1 = [
  server("dc1-c02", "10.1.0.22"),
  server("dc1-s01", "10.1.0.11", "storage"),
  server("dc1-c01", "10.1.0.21"),
];
const DC2 = [server("dc2-c01", "10.2.0.21")];

const alice = (over: Partial<ClusterConfig> = {}): ClusterConfig => ({
  owner: "dc1/user/alice",
  name: "analytics",
  release: "dask@2022.12.1",
  scheduler: { server: "dc1-c01", port: 8786 },
  workers: { count: 5, dataCenters: ["dc1", "dc2"], port: 8800 },
  ...over,
});

describe("cluster layout (lib/compute/layout.ts)", () => {
  it("names a cluster after its owner's data center, name and cluster name", () => {
    assert.equal(clusterLabel(alice()), "dask-dc1-alice-analytics");
  });

  it("hashes a label that would be too long, and two owners of the same name get two labels", () => {
    const long = clusterLabel(alice({ owner: "dc1/user/a-user-with-a-really-rather-long-name" }));
    assert.match(long, /^dask-[0-9a-f]{16}$/);
    assert.notEqual(clusterLabel(alice()), clusterLabel(alice({ owner: "dc2/user/alice" })));
  });

  it("splits workers over the data centers in turn, then over each one's compute servers in id order", () => {
    const dc1 = clusterLayout(alice(), "dc1", DC1);
    assert.deepEqual(dc1.scheduler, {
      instance: "dask-dc1-alice-analytics-s",
      server: "dc1-c01",
      address: "10.1.0.21",
      port: 8786,
    });
    assert.deepEqual(
      dc1.workers.map((w) => `${w.instance} ${w.server} ${w.port}`),
      [
        "dask-dc1-alice-analytics-w0 dc1-c01 8800",
        "dask-dc1-alice-analytics-w2 dc1-c02 8800",
        "dask-dc1-alice-analytics-w4 dc1-c01 8801",
      ],
    );
  });

  it("in another data center's stack: only that data center's workers, the scheduler by its given address", () => {
    const remote = alice({
      scheduler: { dataCenter: "dc1", server: "dc1-c01", address: "10.1.0.21", port: 8786 },
    });
    const dc2 = clusterLayout(remote, "dc2", DC2);
    assert.equal(dc2.scheduler, undefined);
    assert.deepEqual(dc2.schedulerEndpoint, { address: "10.1.0.21", port: 8786 });
    assert.deepEqual(
      dc2.workers.map((w) => `${w.instance} ${w.port}`),
      ["dask-dc1-alice-analytics-w1 8800", "dask-dc1-alice-analytics-w3 8801"],
    );
  });

  it("places no worker in a data center the cluster does not list", () => {
    assert.deepEqual(
      clusterLayout(alice({ workers: { count: 2, dataCenters: ["dc2"], port: 8800 } }), "dc1", DC1).workers,
      [],
    );
  });
});

describe("cluster services (lib/compute/cluster-services.ts)", () => {
  const services = clusterServices([alice()], { dataCenter: "dc1", domain: "zeroroot.test", servers: DC1 });

  it("makes one service per process, each placed on its one server, with its port as a TLS endpoint", () => {
    assert.deepEqual(
      services.map((s) => [s.name, s.placement, s.endpoints]),
      [
        [
          "dask-dc1-alice-analytics-s",
          { servers: ["dc1-c01"] },
          [{ port: 8786, protocol: "tcp", tls: true, requireClientCertificate: true }],
        ],
        [
          "dask-dc1-alice-analytics-w0",
          { servers: ["dc1-c01"] },
          [{ port: 8800, protocol: "tcp", tls: true, requireClientCertificate: true }],
        ],
        [
          "dask-dc1-alice-analytics-w2",
          { servers: ["dc1-c02"] },
          [{ port: 8800, protocol: "tcp", tls: true, requireClientCertificate: true }],
        ],
        [
          "dask-dc1-alice-analytics-w4",
          { servers: ["dc1-c01"] },
          [{ port: 8801, protocol: "tcp", tls: true, requireClientCertificate: true }],
        ],
      ],
    );
  });

  it("gives a worker what its start program takes: role, owner triple, cluster, data centers, own and scheduler endpoints", () => {
    assert.deepEqual(services[1].parameters, {
      role: "worker",
      owner: "dc1/user/alice",
      cluster: "dask-dc1-alice-analytics",
      dataCenters: "dc1,dc2",
      domain: "zeroroot.test",
      listenAddress: "10.1.0.21",
      port: "8800",
      schedulerAddress: "10.1.0.21",
      schedulerPort: "8786",
      [OWNER_PARAMETER]: "dc1/user/alice",
    });
    assert.equal(services[0].parameters.role, "scheduler");
    assert.ok(services.every((s) => s.release === "dask@2022.12.1" && !s.holdsData));
  });

  it("runs each process of a server under a partition user of its own", () => {
    const release = {
      ref: "dask@2022.12.1",
      file: "releases/dask-2022.12.1.signed.json",
      manifestDigest: `sha256:${"0".repeat(64)}`,
      signed: {
        manifest: {
          name: "dask",
          version: "2022.12.1",
          programs: [{ name: "dask", command: "/usr/bin/python3 x", user: "{{partition.user}}" }],
          ports: [],
          holdsData: false,
        },
      },
    } as unknown as LoadedRelease;
    const instances = buildInstances(DC1, services, new Map([["dask@2022.12.1", release]]), 8);
    const onC01 = instances.get("dc1-c01")!;
    assert.equal(onC01.length, 3);
    assert.equal(new Set(onC01.map((i) => i.partition.uid)).size, 3);
  });

  it("adds nothing for a cluster with no process in this data center", () => {
    const elsewhere = alice({
      scheduler: { dataCenter: "dc2", server: "dc2-c01", address: "10.2.0.21", port: 8786 },
      workers: { count: 1, dataCenters: ["dc2"], port: 8800 },
    });
    assert.deepEqual(
      clusterServices([elsewhere], { dataCenter: "dc1", domain: "zeroroot.test", servers: DC1 }),
      [],
    );
  });
});
