/**
 * Where a datastore accepts job certificates (docs/compute.md, "Job certificates"): for each grant
 * of a datastore, one entry per worker node of the grantee's clusters, by the address the node's
 * job certificates carry (O and IP SAN) and the data center whose site CA issues them. The
 * datastore releases turn the entries into PostgreSQL lines (`pgJobLines`) and MariaDB accounts
 * (`mariadbJobAccount`), so a job certificate opens its owner's grants only from that node. Pure.
 */
import type { ClusterConfig, DataAccessConfig, ServerConfig } from "../fleet";
import {
  clustersOf,
  datastoreEngineOf,
  JOB_ACCESS_PARAMETER,
  joinPath,
  parseReleaseRef,
  SERVICES_KEY,
  type ConfigIssue,
  type RawStackConfig,
  type ServiceConfig,
} from "../fleet";
import { mariadbAccountName } from "../datastores/mariadb-galera";
import { escapeForMessage, formatIdentity, jobName, parseIdentity, type Identity } from "../pki";
import { canonicalAddress } from "./egress";
import { remoteWorkers } from "./grants";
import { clusterLayout } from "./layout";

/** The datastore instance parameter listing them, one entry a line (formatJobAccessLine). */
export { JOB_ACCESS_PARAMETER };

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

/**
 * The entry a stack that runs no process of a cluster lists so that its datastores give the cluster's
 * jobs their lines (docs/compute.md, "Job certificates"): the cluster as a stack of one of its
 * worker data centers lists it (remote scheduler), with the compute servers of every worker data
 * center. `listed`: the same cluster's entries in the stacks that run it; undefined when none of
 * them names a remote scheduler (workers in the scheduler's data center only: write the entry by hand).
 */
export function clusterEntryForDatastores(listed: readonly ClusterConfig[]): ClusterConfig | undefined {
  const remote = listed.find(
    (c) => c.scheduler.dataCenter !== undefined && c.scheduler.address !== undefined,
  );
  if (remote === undefined) return undefined;
  const servers = Object.assign({}, ...listed.map((c) => c.workers.remoteComputeServers ?? {})) as Record<
    string,
    string[]
  >;
  return { ...remote, workers: { ...remote.workers, remoteComputeServers: servers } };
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
            // the text the node's job certificates carry, whatever spelling the config used
            address: canonicalAddress(n.address) ?? n.address,
          };
          out.set(formatJobAccessLine(entry), entry);
        }
    }
  return [...out.keys()].sort().map((k) => out.get(k) as JobAccessEntry);
}

/**
 * Worker data centers this stack cannot place (missing from `workers.remoteComputeServers`) of
 * clusters whose owners its datastores grant: their jobs get no line here. Not a config error (no
 * `remoteComputeServers` is the documented default of a cluster); the stack program warns.
 */
export function jobAccessGaps(src: JobAccessSources): string[] {
  const out = new Set<string>();
  for (const e of src.dataAccess)
    for (const g of e.grants)
      for (const c of clustersOf(src.clusters as ClusterConfig[], g.user))
        for (const dc of c.workers.dataCenters)
          if (dc !== src.dataCenter && c.workers.remoteComputeServers?.[dc] === undefined)
            out.add(
              `the workers in ${dc} of ${c.owner}'s cluster ${c.name} get no job lines at ${e.service} in ${src.dataCenter}: list ${dc}'s compute servers under its workers.remoteComputeServers`,
            );
  return [...out];
}

/** The parameter naming, per data center, the DN of the site CA a MariaDB job account requires as ISSUER. */
export const JOB_ISSUERS_PARAMETER = "jobIssuers";

/**
 * The config issues of MariaDB services whose job lines name a worker data center their
 * `jobIssuers` parameter does not: the members would refuse the whole configuration (galera_conf.py),
 * so the stack says it first, at the service's key.
 */
export function checkJobIssuers(
  services: readonly ServiceConfig[],
  jobAccessOf: (service: string) => string,
  raw: RawStackConfig,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  services.forEach((svc, i) => {
    if (datastoreEngineOf(parseReleaseRef(svc.release).name) !== "mariadb") return;
    const named = new Set(
      (svc.parameters?.[JOB_ISSUERS_PARAMETER] ?? "")
        .split(";")
        .map((e) => e.trim().split(" ")[0])
        .filter((dc) => dc !== ""),
    );
    const missing = [...new Set(parseJobAccess(jobAccessOf(svc.name)).map((e) => e.workerDataCenter))].filter(
      (dc) => !named.has(dc),
    );
    if (missing.length === 0) return;
    const path = [SERVICES_KEY, i, "parameters", JOB_ISSUERS_PARAMETER];
    issues.push({
      path: joinPath(path),
      received: named.size > 0 ? JSON.stringify([...named]) : "nothing",
      allowed: `an entry "<data center> <site CA DN>" for each data center whose workers' jobs this service accepts (${missing.join(", ")} missing)`,
      fix: `add ${missing.map((dc) => `"${dc} </O=.../CN=...>"`).join("; ")}: the DN of each site's online CA, which issues its job certificates`,
      ...raw.locate?.(path),
    });
  });
  return issues;
}

/** `<database> <owner> <access> <worker data center> <address>`. */
export function formatJobAccessLine(e: JobAccessEntry): string {
  return `${e.database} ${formatIdentity(e.owner)} ${e.access} ${e.workerDataCenter} ${e.address}`;
}

/** Bounds of the parameter, the same in agents/datastores/job_access.py (which reads it on the server). */
export const JOB_ACCESS_LIMITS = { bytes: 256 * 1024, entries: 4096, lineLength: 200 } as const;
const DC = "[a-z][a-z0-9-]{0,62}";
const JOB_ACCESS_LINE = new RegExp(
  `^([a-z][a-z0-9_]{0,62}) (${DC})/user/([a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?) (read|readwrite) (${DC}) ([0-9a-f.:]{2,39})$`,
);

export class JobAccessError extends Error {}

/** A worker address as job lines carry it: canonical, never unspecified, multicast or IPv4-mapped. */
function isJobAddress(a: string): boolean {
  if (canonicalAddress(a) !== a || a === "0.0.0.0" || a === "::") return false;
  if (a.includes(":")) return !/^ff/.test(a) && !a.startsWith("::ffff:");
  const first = Number(a.split(".")[0]);
  return first < 224 || first > 239;
}

/**
 * The parameter's value read back as the datastore releases read it (agents/datastores/job_access.py:
 * same shape, bounds and refusals; the stack checks its own output with it, so a line the server
 * would refuse fails `pulumi up` instead).
 */
export function parseJobAccess(text: string): JobAccessEntry[] {
  const where = `parameter ${JOB_ACCESS_PARAMETER}`;
  if (Buffer.byteLength(text, "utf8") > JOB_ACCESS_LIMITS.bytes)
    throw new JobAccessError(`${where}: larger than ${JOB_ACCESS_LIMITS.bytes} bytes`);
  const seen = new Set<string>();
  const out: JobAccessEntry[] = [];
  text.split("\n").forEach((line, i) => {
    if (line === "") return;
    const m = line.length <= JOB_ACCESS_LIMITS.lineLength ? JOB_ACCESS_LINE.exec(line) : null;
    if (!m || !isJobAddress(m[6]))
      throw new JobAccessError(
        `${where} line ${i + 1}: "${escapeForMessage(line.slice(0, 120))}"; allowed: <database> <dc>/user/<name> <read|readwrite> <worker dc> <canonical worker address>, single spaces`,
      );
    if (seen.has(line)) throw new JobAccessError(`${where} line ${i + 1}: a repeated entry`);
    seen.add(line);
    if (out.length === JOB_ACCESS_LIMITS.entries)
      throw new JobAccessError(`${where}: more than ${JOB_ACCESS_LIMITS.entries} entries`);
    out.push({
      database: m[1],
      owner: { dataCenter: m[2], kind: "user", name: m[3] },
      access: m[4],
      workerDataCenter: m[5],
      address: m[6],
    });
  });
  return out;
}

/**
 * The `jobAccess` parameter of a datastore service's instances: one `formatJobAccessLine` a line,
 * checked as the server will read it.
 */
export function jobAccessParameter(service: string, src: JobAccessSources): string {
  const text = jobAccessEntries(service, src).map(formatJobAccessLine).join("\n");
  parseJobAccess(text);
  return text;
}

/** The subject of the owner's job certificates on the node at `address`, as PostgreSQL prints it (RFC 2253). */
export function jobSubjectRfc2253(owner: Identity, address: string): string {
  return `CN=${jobName(owner)},O=${address}`;
}

/** The same subject as MariaDB's REQUIRE SUBJECT reads it (OpenSSL's one-line form, in DER order). */
export function jobSubjectOneline(owner: Identity, address: string): string {
  return `/O=${address}/CN=${jobName(owner)}`;
}

/**
 * The pg_ident map of the job lines of one node. One map per node address, never one for all: a map
 * holds every subject it lists, whichever pg_hba line named it, so a shared map would let the job
 * certificate of one of alice's nodes in from any other of her nodes.
 */
export const pgJobMap = (address: string): string => `zrjobs-${address}`;

/**
 * pg_hba lines (to put before the users' CN catch-all) and pg_ident lines: the owner's role (its
 * user name, as the CN map names it) from the node's address, only with that node's job subject.
 */
export function pgJobLines(entries: readonly JobAccessEntry[]): { hba: string[]; ident: string[] } {
  const hba = entries.map(
    (e) =>
      `hostssl ${e.database} ${e.owner.name} ${e.address}/${e.address.includes(":") ? 128 : 32} cert clientcert=verify-full clientname=DN map=${pgJobMap(e.address)}`,
  );
  const ident = [
    ...new Set(
      entries.map((e) => `${pgJobMap(e.address)} "${jobSubjectRfc2253(e.owner, e.address)}" ${e.owner.name}`),
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
