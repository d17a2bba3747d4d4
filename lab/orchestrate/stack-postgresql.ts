/**
 * PostgreSQL in a data-center stack (the lab's and the examples', stack-datastores.ts): a primary on
 * the first storage server of dc1, a streaming replica on the first storage server of dc2, and the
 * data sets users may use (`zeroroot:dataAccess`), written as a user writes them in
 * Pulumi.<dc>.yaml. The replica authenticates to the primary with its instance's service
 * certificate, which the primary maps to the `replicator` role by its name (a DNS name of dc2's
 * zone, only from the replica server's address; no user certificate can carry a dotted name,
 * lib/pki/identity.ts).
 */
import { POSTGRESQL_PORT } from "../../lib/hardening";
import { serviceDnsName } from "../../lib/agent/protocol";
import type { LabNetPlan } from "../net";
import { POSTGRESQL_SERVICE } from "./release-postgresql";
import {
  copyDataSets,
  crlSourcesOf,
  labDatastoreTopology,
  storageServerOf,
  type DatastoreEntries,
  type DatastoreTopology,
  type DataSet,
  type TopologyServer,
} from "./stack-datastores";
import type { DatastoreStackConfig } from "./stacks";

export { labHostname } from "./stack-datastores";

type Dc = LabNetPlan["dataCenters"][number];
type Server = Dc["servers"][number];

export const POSTGRESQL_PRIMARY_DC = "dc1";
export const POSTGRESQL_REPLICA_DCS: readonly string[] = ["dc2"];

/** The lab's data sets: alice writes analytics, bob (of dc2) reads it, carol owns ledger. */
export const POSTGRESQL_DATA_ACCESS: readonly DataSet[] = [
  {
    service: POSTGRESQL_SERVICE,
    database: "analytics",
    grants: [
      { user: "dc1/user/alice", access: "readwrite" },
      { user: "dc2/user/bob", access: "read" },
    ],
  },
  {
    service: POSTGRESQL_SERVICE,
    database: "ledger",
    grants: [{ user: "dc1/user/carol", access: "readwrite" }],
  },
];

/** Where one PostgreSQL instance runs, and the CN of its service certificate (the site names it). */
interface Placement {
  readonly dcId: string;
  readonly server: TopologyServer;
  readonly serviceName: string;
}

function placements(t: DatastoreTopology): { primary?: Placement; replicas: Placement[] } {
  const at = (dcId: string): Placement[] => {
    const server = storageServerOf(t, dcId);
    return server ? [{ dcId, server, serviceName: serviceDnsName(POSTGRESQL_SERVICE, server.hostname) }] : [];
  };
  return { primary: at(POSTGRESQL_PRIMARY_DC)[0], replicas: POSTGRESQL_REPLICA_DCS.flatMap(at) };
}

/**
 * The PostgreSQL entries of data center `dcId`'s stack: the primary or a replica with its
 * replication peers and the sites' CRL sources, and the data sets (the replica serves reads to the
 * same users, so its certificate-to-role map needs the grants too). Nothing where none runs.
 */
export function postgresqlServices(
  t: DatastoreTopology,
  dcId: string,
  releaseRef: string,
  dataSets: readonly DataSet[] = POSTGRESQL_DATA_ACCESS,
): DatastoreEntries {
  const { primary, replicas } = placements(t);
  const here = [primary, ...replicas].find((p) => p?.dcId === dcId);
  if (!primary || !here) return { services: [], dataAccess: [] };
  const isPrimary = here === primary;
  const replication = isPrimary
    ? replicas.map((r) => `replica ${r.serviceName} ${r.server.address}`).join("\n")
    : `primary ${primary.serviceName} ${primary.server.address} ${POSTGRESQL_PORT}`;
  return {
    services: [
      {
        name: POSTGRESQL_SERVICE,
        release: releaseRef,
        placement: { servers: [here.server.id] },
        holdsData: true,
        minimumPersistence: t.minimumPersistence,
        endpoints: [{ port: POSTGRESQL_PORT, tls: true, requireClientCertificate: true }],
        parameters: {
          mode: isPrimary ? "primary" : "replica",
          replication,
          crlSources: crlSourcesOf(t),
        },
      },
    ],
    dataAccess: copyDataSets(dataSets),
  };
}

/** The lab's: its stacks' PostgreSQL entries (stacks.ts). */
export const postgresqlStack: DatastoreStackConfig = ({ plan, dc, isStorage, releaseRef }) =>
  postgresqlServices(labDatastoreTopology(plan, isStorage), dc.id, releaseRef);

/** Where PostgreSQL of a lab data center runs: its first storage server. */
export interface PostgresqlPlacement {
  readonly dc: Dc;
  readonly server: Server;
  /** CN of the instance's service certificate (the site names it). */
  readonly serviceName: string;
}

/** The lab's primary and replicas, as lab objects (for the lab tests). */
export function postgresqlPlacements(
  plan: LabNetPlan,
  isStorage: (d: Dc, s: Server) => boolean,
): { primary?: PostgresqlPlacement; replicas: PostgresqlPlacement[] } {
  const p = placements(labDatastoreTopology(plan, isStorage));
  const lab = (x: Placement): PostgresqlPlacement => {
    const dc = plan.dataCenters.find((d) => d.id === x.dcId)!;
    return { dc, server: dc.servers.find((s) => s.id === x.server.id)!, serviceName: x.serviceName };
  };
  return { primary: p.primary && lab(p.primary), replicas: p.replicas.map(lab) };
}
