/**
 * PostgreSQL in the lab's stacks: a primary on the first storage server of dc1, a streaming replica
 * on the first storage server of dc2, and the data sets users may use (`zeroroot:dataAccess`),
 * written as a user writes them in Pulumi.<dc>.yaml. The replica authenticates to the primary with
 * its instance's service certificate, which the primary maps to the `replicator` role by its name
 * (a DNS name of dc2's zone, only from the replica server's address).
 */
import { POSTGRESQL_PORT } from "../../lib/hardening";
import { serviceDnsName } from "../../lib/agent/protocol";
import type { LabNetPlan } from "../net";
import { DOMAIN, SITE_PORT } from "./layout";
import { POSTGRESQL_SERVICE } from "./release-postgresql";
import type { DatastoreStackConfig } from "./stacks";

type Dc = LabNetPlan["dataCenters"][number];
type Server = Dc["servers"][number];

export const POSTGRESQL_PRIMARY_DC = "dc1";
export const POSTGRESQL_REPLICA_DCS: readonly string[] = ["dc2"];

/** The lab's data sets: alice writes analytics, bob (of dc2) reads it, carol owns ledger. */
export const POSTGRESQL_DATA_ACCESS = [
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
] as const;

/** The lab server's host name, as the stacks give it. */
export const labHostname = (d: Dc, s: Server): string => `${s.id.slice(d.id.length + 1)}.${d.id}.${DOMAIN}`;

/** Where PostgreSQL of `dc` runs: its first storage server. */
export interface PostgresqlPlacement {
  readonly dc: Dc;
  readonly server: Server;
  /** CN of the instance's service certificate (the site names it). */
  readonly serviceName: string;
}

export function postgresqlPlacements(
  plan: LabNetPlan,
  isStorage: (d: Dc, s: Server) => boolean,
): { primary?: PostgresqlPlacement; replicas: PostgresqlPlacement[] } {
  const at = (dcId: string): PostgresqlPlacement[] => {
    const dc = plan.dataCenters.find((d) => d.id === dcId);
    const server = dc?.servers.find((s) => isStorage(dc, s));
    return dc && server
      ? [{ dc, server, serviceName: serviceDnsName(POSTGRESQL_SERVICE, labHostname(dc, server)) }]
      : [];
  };
  return { primary: at(POSTGRESQL_PRIMARY_DC)[0], replicas: POSTGRESQL_REPLICA_DCS.flatMap(at) };
}

export const postgresqlStack: DatastoreStackConfig = ({ plan, dc, isStorage, releaseRef }) => {
  const { primary, replicas } = postgresqlPlacements(plan, isStorage);
  const here = [primary, ...replicas].find((p) => p?.dc.id === dc.id);
  if (!primary || !here) return { services: [], dataAccess: [] };
  const isPrimary = here === primary;
  const crlSources = plan.dataCenters
    .map((d) => `site.${d.id}.${DOMAIN}@${d.managementServer.dataAddress}:${SITE_PORT}`)
    .join("\n");
  const replication = isPrimary
    ? replicas.map((r) => `replica ${r.serviceName} ${r.server.dataAddress}`).join("\n")
    : `primary ${primary.serviceName} ${primary.server.dataAddress} ${POSTGRESQL_PORT}`;
  return {
    services: [
      {
        name: POSTGRESQL_SERVICE,
        release: releaseRef,
        placement: { servers: [here.server.id] },
        holdsData: true,
        minimumPersistence: "1h",
        parameters: { mode: isPrimary ? "primary" : "replica", replication, crlSources },
      },
    ],
    // the replica serves reads to the same users: its certificate-to-role map needs the grants too
    dataAccess: POSTGRESQL_DATA_ACCESS.map((e) => ({ ...e, grants: e.grants.map((g) => ({ ...g })) })),
  };
};
