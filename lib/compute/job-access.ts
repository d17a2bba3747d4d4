/**
 * Where a datastore accepts job certificates (docs/compute.md, "Job certificates"): for each grant
 * of a datastore, one entry per worker node of the grantee's clusters, by the address the node's
 * job certificates carry (O and IP SAN) and the data center whose site CA issues them. The
 * datastore releases turn the entries into PostgreSQL lines (`pgJobLines`) and MariaDB accounts
 * (`mariadbJobAccount`), so a job certificate opens its owner's grants only from that node. Pure.
 */
import type { ClusterConfig, DataAccessConfig, ServerConfig } from "../fleet";
import { clustersOf } from "../fleet";
import { mariadbAccountName } from "../datastores/mariadb-galera";
import { formatIdentity, jobName, parseIdentity, type Identity } from "../pki";
import { remoteWorkers } from "./grants";
import { clusterLayout } from "./layout";

/** The datastore instance parameter listing them, one entry a line (formatJobAccess). */
export const JOB_ACCESS_PARAMETER = "jobAccess";

export interface JobAccessEntry {
  readonly database: string;
  readonly owner: Identity;
  readonly access: string;
  /** The data center of the worker node, whose site CA issues its job certificates. */
  readonly workerDataCenter: string;
  readonly address: string;
}

export interface JobAccessSources {
  readonly dataAccess: DataAccessConfig;
  readonly clusters: readonly ClusterConfig[];
  /** This stack's inventory and data center (its own workers are placed from them). */
  readonly servers: readonly ServerConfig[];
  readonly dataCenter: string;
}

/** The worker nodes of `c` in every data center, as each data center's stack places them. */
export function workerNodes(
  c: ClusterConfig,
  src: Pick<JobAccessSources, "servers" | "dataCenter">,
): { dataCenter: string; address: string }[] {
  const here = clusterLayout(c, src.dataCenter, src.servers).workers.map((w) => ({
    dataCenter: src.dataCenter,
    address: w.address,
  }));
  const there = Object.entries(c.workers.remoteComputeServers ?? {}).flatMap(([dc, addresses]) =>
    remoteWorkers(
      { ...c, workers: { ...c.workers, remoteComputeServers: { [dc]: addresses } } },
      src.dataCenter,
    ).map((w) => ({ dataCenter: dc, address: w.address })),
  );
  return [...here, ...there];
}

/** Entries of `service`, sorted and without repeats (two workers on one node make one entry). */
export function jobAccessEntries(service: string, src: JobAccessSources): JobAccessEntry[] {
  const out = new Map<string, JobAccessEntry>();
  for (const e of src.dataAccess.filter((d) => d.service === service))
    for (const g of e.grants) {
      const owner = parseIdentity(g.user);
      if (typeof owner === "string" || owner.kind !== "user") continue; // validated with the stack
      for (const c of clustersOf(src.clusters as ClusterConfig[], g.user))
        for (const n of workerNodes(c, src)) {
          const entry = {
            database: e.database,
            owner,
            access: g.access,
            workerDataCenter: n.dataCenter,
            address: n.address,
          };
          out.set(formatJobAccessLine(entry), entry);
        }
    }
  return [...out.keys()].sort().map((k) => out.get(k) as JobAccessEntry);
}

/** `<database> <owner> <access> <worker data center> <address>`. */
export function formatJobAccessLine(e: JobAccessEntry): string {
  return `${e.database} ${formatIdentity(e.owner)} ${e.access} ${e.workerDataCenter} ${e.address}`;
}

/** The subject of the owner's job certificates on the node at `address`, as PostgreSQL prints it (RFC 2253). */
export function jobSubjectRfc2253(owner: Identity, address: string): string {
  return `CN=${jobName(owner)},O=${address}`;
}

/** The same subject as MariaDB's REQUIRE SUBJECT reads it (OpenSSL's one-line form, in DER order). */
export function jobSubjectOneline(owner: Identity, address: string): string {
  return `/O=${address}/CN=${jobName(owner)}`;
}

/** The map name of the job lines in pg_ident.conf. */
export const PG_JOB_MAP = "zrjobs";

/**
 * pg_hba lines (to put before the users' CN catch-all) and pg_ident lines: the owner's role (its
 * user name, as the CN map names it) from the node's address, only with that node's job subject.
 */
export function pgJobLines(entries: readonly JobAccessEntry[]): { hba: string[]; ident: string[] } {
  const hba = entries.map(
    (e) =>
      `hostssl ${e.database} ${e.owner.name} ${e.address}/${e.address.includes(":") ? 128 : 32} cert clientcert=verify-full clientname=DN map=${PG_JOB_MAP}`,
  );
  const ident = [
    ...new Set(
      entries.map((e) => `${PG_JOB_MAP} "${jobSubjectRfc2253(e.owner, e.address)}" ${e.owner.name}`),
    ),
  ];
  return { hba, ident };
}

/** The MariaDB account of the owner's jobs on one node and what it requires; `issuer` is the worker data center's CA DN. */
export function mariadbJobAccount(e: JobAccessEntry, issuer: string): { account: string; require: string } {
  return {
    account: `'${mariadbAccountName(e.owner)}'@'${e.address}'`,
    require: `REQUIRE SUBJECT '${jobSubjectOneline(e.owner, e.address)}' AND ISSUER '${issuer}'`,
  };
}
