/**
 * Writes the datastores into the example data-center stacks (stacks/Pulumi.dc*.yaml) from the same
 * definition the lab's stacks use (lab/orchestrate/stack-datastores.ts): a PostgreSQL primary on
 * dc1's first storage server with a streaming replica on dc2's, one Galera member on the first
 * storage server of every data center. Called by example-releases.ts, which knows the signed
 * releases' versions and the example CAs that issue user certificates.
 *
 * Only the datastore entries of `zeroroot:services` and their `zeroroot:dataAccess` sets are
 * replaced; every other line (servers, comments, other services) is kept as written.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { isMap, isSeq, parseDocument, type Document, type Node } from "yaml";
import { checkStackConfig, datastoreEngineOf, formatIssues, readStackFile } from "../lib/fleet";
import { postgresqlServices } from "../lab/orchestrate/stack-postgresql";
import type { DatastoreTopology, DataSet } from "../lab/orchestrate/stack-datastores";
import { galeraServices, GALERA_SERVICE } from "../lab/releases/mariadb-galera/lab";
import { POSTGRESQL_SERVICE } from "../lab/orchestrate/release-postgresql";

/** The example data sets: alice (dc1) writes analytics, bob (dc2) reads it; dave (dc3) owns shop on Galera. */
export const EXAMPLE_DATA_SETS: { readonly postgresql: DataSet[]; readonly galera: DataSet[] } = {
  postgresql: [
    {
      service: POSTGRESQL_SERVICE,
      database: "analytics",
      grants: [
        { user: "dc1/user/alice", access: "readwrite" },
        { user: "dc2/user/bob", access: "read" },
      ],
    },
  ],
  galera: [
    {
      service: GALERA_SERVICE,
      database: "shop",
      grants: [
        { user: "dc3/user/dave", access: "readwrite" },
        { user: "dc1/user/carol", access: "read" },
      ],
    },
  ],
};
export const EXAMPLE_GALERA_CLUSTER = "zeroroot";

export interface ExampleDatastoreReleases {
  /** `name@version` of the signed releases. */
  readonly postgresql: string;
  readonly galera: string;
  /** Per data center, the DN (MariaDB's form) of the example CA that issues its user certificates. */
  readonly userIssuers: Readonly<Record<string, string>>;
}

/** The topology of the example stacks, from their servers (storage role) and management servers. */
export function exampleTopology(
  files: readonly string[],
  userIssuers: Readonly<Record<string, string>>,
): DatastoreTopology {
  const resolved = files.map((file) => {
    const r = checkStackConfig(readStackFile(file));
    if (r.value?.kind !== "dataCenter")
      throw new Error(`${file} is not a valid data-center stack:\n${formatIssues(r.issues)}`);
    return r.value;
  });
  const domains = new Set(resolved.map((r) => r.domain));
  if (domains.size !== 1) throw new Error(`the example stacks name ${domains.size} domains, expected one`);
  return {
    domain: resolved[0].domain,
    sitePort: resolved[0].dataCenter.sitePort,
    minimumPersistence: "30d",
    userIssuers,
    dataCenters: resolved.map(({ dataCenter: dc }) => ({
      id: dc.name,
      siteAddress: dc.managementServer.dataAddress,
      servers: dc.servers.map((s) => ({
        id: s.id,
        hostname: s.hostname,
        address: s.address,
        storage: s.roles.includes("storage"),
      })),
    })),
  };
}

/** Rewrites the datastore entries of each data-center stack file (`files` by data center id). */
export function writeExampleDatastores(
  files: Readonly<Record<string, string>>,
  releases: ExampleDatastoreReleases,
): void {
  const topology = exampleTopology(Object.values(files), releases.userIssuers);
  for (const [dcId, file] of Object.entries(files)) {
    const pg = postgresqlServices(topology, dcId, releases.postgresql, EXAMPLE_DATA_SETS.postgresql);
    const galera = galeraServices(
      topology,
      dcId,
      releases.galera,
      EXAMPLE_DATA_SETS.galera,
      EXAMPLE_GALERA_CLUSTER,
    );
    const doc = parseDocument(readFileSync(file, "utf8"));
    const generated = new Set([POSTGRESQL_SERVICE, GALERA_SERVICE]);
    replaceItems(
      doc,
      "zeroroot:services",
      (s) => typeof s.release === "string" && datastoreEngineOf(s.release.split("@")[0]) !== undefined,
      [...pg.services, ...galera.services],
    );
    replaceItems(doc, "zeroroot:dataAccess", (e) => generated.has(String(e.service)), [
      ...pg.dataAccess,
      ...galera.dataAccess,
    ]);
    // the hand-written style: `{ role: storage }`, `[dc1-s01]`
    writeFileSync(file, doc.toString({ lineWidth: 0 }).replace(/\[ ([^[\]\n]*) \]/g, "[$1]"));
  }
}

/** In list `key` of the stack's config: drops the items `drop` selects, puts `items` first. */
function replaceItems(
  doc: Document,
  key: string,
  drop: (item: Record<string, unknown>) => boolean,
  items: readonly Record<string, unknown>[],
): void {
  const seq = doc.getIn(["config", key], true);
  if (!isSeq(seq)) throw new Error(`the example stack has no ${key} list`);
  const kept = seq.items.filter((n) => !drop((n as Node).toJSON() as Record<string, unknown>));
  seq.items = [...items.map((i) => compact(doc.createNode(i))), ...kept];
}

/** Small maps (placement, endpoints, grants) on one line, as the hand-written examples have them. */
function compact<T>(node: T): T {
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = String((pair.key as { value?: unknown }).value);
      const v = pair.value;
      if (k === "placement" && isMap(v)) v.flow = true;
      if ((k === "endpoints" || k === "grants") && isSeq(v))
        for (const i of v.items) if (isMap(i)) i.flow = true;
      compact(v);
    }
  }
  return node;
}
