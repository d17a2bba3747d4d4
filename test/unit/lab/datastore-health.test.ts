/**
 * When `lab up` may say it is done: the datastores its stacks declare, judged from the readers `lab
 * status` uses (lab/orchestrate/datastore-health.ts). The lab tier shows it against real daemons;
 * here, the judgement itself, one state per row.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import {
  datastoreHealthProblems,
  declaredDatastores,
  formatUnhealthy,
  type DeclaredDatastore,
} from "../../../lab/orchestrate/datastore-health";
import type { PostgresqlReport } from "../../../lab/orchestrate/status-datastores";
import type { GaleraReport } from "../../../lab/releases/mariadb-galera/status";

const DECLARED: DeclaredDatastore[] = [
  { engine: "postgresql", server: "dc1-s1", mode: "primary" },
  { engine: "postgresql", server: "dc2-s1", mode: "replica" },
  { engine: "mariadb", server: "dc1-s1" },
  { engine: "mariadb", server: "dc2-s1" },
  { engine: "mariadb", server: "dc3-s1" },
];
const pg = (server: string, r: Partial<PostgresqlReport>): PostgresqlReport => ({
  engine: "postgresql",
  server,
  partition: "zr-p001",
  port: 5432,
  ...r,
});
const galera = (server: string, r: Partial<GaleraReport> = {}): GaleraReport => ({
  engine: "galera",
  server,
  partition: "zr-p002",
  state: "Synced",
  clusterSize: 3,
  clusterStatus: "Primary",
  ...r,
});
const HEALTHY = [
  pg("dc1-s1", { role: "primary", replicas: [{ name: "walreceiver", state: "streaming", lagBytes: 0 }] }),
  pg("dc2-s1", { role: "replica", streaming: true, lagBytes: 0 }),
  galera("dc1-s1"),
  galera("dc2-s1"),
  galera("dc3-s1"),
];
/** HEALTHY with the report of `engine` on `server` replaced (or removed when `r` is undefined). */
const but = (engine: string, server: string, r?: PostgresqlReport | GaleraReport) =>
  HEALTHY.flatMap((x) => (x.engine === engine && x.server === server ? (r ? [r] : []) : [x]));

describe("lab up waits for the declared datastores (datastore-health.ts)", () => {
  it("is done when the primary serves, the replica streams and three members are Synced in a primary component", () => {
    assert.deepEqual(datastoreHealthProblems(DECLARED, HEALTHY), []);
  });

  const rows: [string, (PostgresqlReport | GaleraReport)[], RegExp][] = [
    [
      "a replica still in pg_basebackup (no data directory yet)",
      but("postgresql", "dc2-s1"),
      /postgresql replica on dc2-s1: no data directory yet/,
    ],
    [
      "a replica that runs but does not stream yet",
      but("postgresql", "dc2-s1", pg("dc2-s1", { role: "replica", streaming: false })),
      /postgresql replica on dc2-s1: not streaming/,
    ],
    [
      "a primary no replica streams from",
      but("postgresql", "dc1-s1", pg("dc1-s1", { role: "primary", replicas: [] })),
      /postgresql primary on dc1-s1: 0 of 1 replica\(s\) streaming/,
    ],
    [
      "a primary that does not answer",
      but("postgresql", "dc1-s1", pg("dc1-s1", { error: "not running (no socket)" })),
      /postgresql primary on dc1-s1: not running \(no socket\)/,
    ],
    [
      "an instance in the wrong role",
      but("postgresql", "dc1-s1", pg("dc1-s1", { role: "replica", streaming: true })),
      /postgresql primary on dc1-s1: runs as replica/,
    ],
    ["a Galera member not laid down yet", but("galera", "dc3-s1"), /galera on dc3-s1: not laid down yet/],
    [
      "a joiner still in state transfer",
      but("galera", "dc3-s1", galera("dc3-s1", { state: "Joining" })),
      /galera dc3-s1\/zr-p002: Joining, not Synced/,
    ],
    [
      "members in a non-primary component (a whole-cluster stop not recovered)",
      but("galera", "dc1-s1", galera("dc1-s1", { clusterStatus: "non-Primary" })),
      /galera dc1-s1\/zr-p002: not in a primary component/,
    ],
    [
      "a cluster smaller than the stacks declare (a member that founded its own)",
      but("galera", "dc2-s1", galera("dc2-s1", { clusterSize: 2 })),
      /galera dc2-s1\/zr-p002: cluster of 2, expected 3/,
    ],
  ];
  for (const [title, reports, expected] of rows)
    it(`is not done with ${title}, and says which`, () => {
      const problems = datastoreHealthProblems(DECLARED, reports);
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0], expected);
      assert.match(
        formatUnhealthy(problems, 600_000),
        /within 600 s:\n {2}.+\n\(the servers run; `zeroroot lab status`/,
      );
    });

  it("reads the declared instances from the data-center stack files: datastore releases only, per placed server", () => {
    const dir = mkdtempSync(join(tmpdir(), "zr-health-"));
    const file = join(dir, "Pulumi.dc1.yaml");
    const services = [
      { name: "echo", release: "lab-echo@1.0.0", placement: { servers: ["dc1-s1", "dc1-s2"] } },
      {
        name: "postgresql",
        release: "postgresql@15.20.2",
        placement: { servers: ["dc1-s1"] },
        parameters: { mode: "primary" },
      },
      { name: "galera", release: "mariadb-galera@10.11.3", placement: { servers: ["dc1-s1"] } },
    ];
    writeFileSync(file, stringify({ config: { "zeroroot:services": services } }));
    assert.deepEqual(declaredDatastores([file]), [
      { engine: "postgresql", server: "dc1-s1", mode: "primary" },
      { engine: "mariadb", server: "dc1-s1" },
    ]);
  });
});
