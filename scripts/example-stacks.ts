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
import { DASK_RELEASE_NAME, labClusters } from "../lab/releases/dask/lab";
import type { LabNetPlan } from "../lab/net";
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

/**
 * Writes the lab user's Dask cluster (lab/releases/dask/lab.ts: alice's `analytics`, scheduler on
 * dc1's first compute server, workers over dc1 and dc2) into `zeroroot:clusters` of each example
 * stack, as the lab's stacks have it, and drops any `zeroroot:services` entry running the dask
 * release: that release starts a scheduler or a worker of a user's cluster (its `role` parameter),
 * not a platform service.
 */
export function writeExampleClusters(files: Readonly<Record<string, string>>, daskRef: string): void {
  const resolved = Object.values(files).map((file) => {
    const r = checkStackConfig(readStackFile(file));
    if (r.value?.kind !== "dataCenter")
      throw new Error(`${file} is not a valid data-center stack:
${formatIssues(r.issues)}`);
    return r.value.dataCenter;
  });
  // The part of the lab's network plan labClusters reads: data centers, server ids and addresses.
  const plan = {
    dataCenters: resolved.map((dc) => ({
      id: dc.name,
      servers: dc.servers.map((s) => ({
        id: s.id,
        dataAddress: s.address,
        compute: s.roles.includes("compute"),
      })),
    })),
  } as unknown as LabNetPlan;
  const isCompute = (_dc: unknown, s: unknown) => (s as { compute: boolean }).compute;
  for (const [dcId, file] of Object.entries(files)) {
    const dc = plan.dataCenters.find((d) => d.id === dcId);
    if (!dc) throw new Error(`no example data center ${dcId}`);
    const clusters = labClusters(plan, dc, isCompute, daskRef);
    const doc = parseDocument(readFileSync(file, "utf8"));
    replaceItems(doc, "zeroroot:services", (s) => String(s.release).split("@")[0] === DASK_RELEASE_NAME, []);
    if (clusters.length === 0) doc.deleteIn(["config", "zeroroot:clusters"]);
    else {
      const node = doc.createNode(clusters);
      node.commentBefore =
        " A user's Dask cluster (docs/compute.md): the lab's (lab/releases/dask/lab.ts), written by\n" +
        " scripts/example-releases.ts with the dask release it signs from the lab's definition.";
      for (const c of node.items) flowLeaves(c);
      doc.deleteIn(["config", "zeroroot:clusters"]);
      // before zeroroot:services, so that services stay right before zeroroot:dataAccess, the file's
      // last key (tests append a service and a grant there)
      const config = doc.get("config", true);
      if (!isMap(config)) throw new Error(`${file} has no config map`);
      const at = config.items.findIndex(
        (p) => String((p.key as { value?: unknown }).value) === "zeroroot:services",
      );
      config.items.splice(at < 0 ? config.items.length : at, 0, doc.createPair("zeroroot:clusters", node));
    }
    writeFileSync(file, doc.toString({ lineWidth: 0 }).replace(/\[ ([^[\]\n]*) \]/g, "[$1]"));
  }
}

/** Maps and lists whose values are all scalars on one line (`{ server: dc1-c01, port: 8786 }`). */
function flowLeaves(node: unknown): void {
  if (!isMap(node) && !isSeq(node)) return;
  const values = node.items.map((i) => (isMap(node) ? (i as { value: unknown }).value : i));
  if (values.every((v) => !isMap(v) && !isSeq(v))) node.flow = true;
  else values.forEach(flowLeaves);
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
