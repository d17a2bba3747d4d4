/**
 * Where the datastores go, as one definition for the lab's stacks (stacks.ts) and the example stacks
 * (scripts/example-releases.ts): the data centers with their servers and sites, read from the lab's
 * net plan or from an example stack file. Each datastore turns it into a data-center stack's
 * `zeroroot:services` and `zeroroot:dataAccess` entries (`postgresqlServices` in stack-postgresql.ts,
 * `galeraServices` in ../releases/mariadb-galera/lab.ts): a PostgreSQL primary on the first storage
 * server of dc1 with a streaming replica on dc2's, one Galera member on the first storage server of
 * every data center.
 */
import { join } from "node:path";
import type { LabNetPlan } from "../net";
import { DOMAIN, REPO_ROOT, SITE_PORT } from "./layout";

export interface TopologyServer {
  readonly id: string;
  /** Its host name; a service's certificate is named `<service>.<hostname>`. */
  readonly hostname: string;
  readonly address: string;
  readonly storage: boolean;
}

export interface TopologyDataCenter {
  readonly id: string;
  /** Data-network address of its management server, where its site serves CRLs. */
  readonly siteAddress: string;
  readonly servers: readonly TopologyServer[];
}

export interface DatastoreTopology {
  readonly domain: string;
  readonly sitePort: number;
  readonly dataCenters: readonly TopologyDataCenter[];
  /** `minimumPersistence` of every data-holding datastore service. */
  readonly minimumPersistence: string;
  /** Per data center, the DN (MariaDB's `/O=…/CN=…` form) of the CA that issues its user certificates. */
  readonly userIssuers?: Readonly<Record<string, string>>;
  /** Per data center, the DN (MariaDB's form) of its site's online CA, which issues its job certificates. */
  readonly jobIssuers?: Readonly<Record<string, string>>;
}

/** What one datastore adds to one data center's stack. */
export interface DatastoreEntries {
  readonly services: Record<string, unknown>[];
  readonly dataAccess: Record<string, unknown>[];
}

/** A data set: who may use which database of which datastore service (`zeroroot:dataAccess`). */
export interface DataSet {
  readonly service: string;
  readonly database: string;
  readonly grants: readonly { readonly user: string; readonly access: string }[];
}

/** Fresh, mutable copies of data sets for a stack document. */
export const copyDataSets = (sets: readonly DataSet[]): Record<string, unknown>[] =>
  sets.map((e) => ({ ...e, grants: e.grants.map((g) => ({ ...g })) }));

/** The first storage server of a data center: where its datastores go. */
export function storageServerOf(t: DatastoreTopology, dcId: string): TopologyServer | undefined {
  return t.dataCenters.find((d) => d.id === dcId)?.servers.find((s) => s.storage);
}

/**
 * The program that reads `crlSources` on the server: fetches and screens every site's CRLs
 * (agents/crl/crl_sources.py). A file of each datastore release that checks other data centers'
 * certificates (PostgreSQL, MariaDB/Galera), by its path inside the release.
 */
export const CRL_SOURCES_MODULE: Readonly<Record<string, string>> = {
  "crl_sources.py": join(REPO_ROOT, "agents/crl/crl_sources.py"),
};

/**
 * The program that reads `jobAccess` on the server and renders the job lines as lib/compute/job-access.ts
 * does (agents/datastores/job_access.py; imports crl_sources.py, shipped beside it): a file of each
 * datastore release, by its path inside the release.
 */
export const JOB_ACCESS_MODULE: Readonly<Record<string, string>> = {
  "job_access.py": join(REPO_ROOT, "agents/datastores/job_access.py"),
};

/** CRL sources of every data center's site, in the `crlSources` parameter's form (one per line). */
export const crlSourcesOf = (t: DatastoreTopology): string =>
  t.dataCenters.map((d) => `site.${d.id}.${t.domain}@${d.siteAddress}:${t.sitePort}`).join("\n");

type Dc = LabNetPlan["dataCenters"][number];
type Server = Dc["servers"][number];

/** The lab server's host name, as the lab's stacks give it. */
export const labHostname = (d: Dc, s: Server): string => `${s.id.slice(d.id.length + 1)}.${d.id}.${DOMAIN}`;

/** The lab's topology: its net plan, with which servers are storage servers. */
export function labDatastoreTopology(
  plan: LabNetPlan,
  isStorage: (d: Dc, s: Server) => boolean,
  userIssuers?: Readonly<Record<string, string>>,
): DatastoreTopology {
  return {
    domain: DOMAIN,
    sitePort: SITE_PORT,
    minimumPersistence: "1h",
    dataCenters: plan.dataCenters.map((d) => ({
      id: d.id,
      siteAddress: d.managementServer.dataAddress,
      servers: d.servers.map((s) => ({
        id: s.id,
        hostname: labHostname(d, s),
        address: s.dataAddress,
        storage: isStorage(d, s),
      })),
    })),
    ...(userIssuers ? { userIssuers } : {}),
  };
}
