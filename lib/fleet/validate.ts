/**
 * Turns raw stack configuration into typed, complete settings, or every problem at once.
 * The raw values come from Pulumi (already decrypted) or from a stack file read by the CLI;
 * `isSecret` says which leaves were given as Pulumi secrets, because the schema alone cannot.
 */
import { checkDataCenter, type PartialDataCenter } from "./checks";
import { ConfigIssue, ConfigValidationError, describeValue, joinPath } from "./issues";
import { checkStructure, didYouMean, type Report } from "./safety";
import { parseWith } from "./zod-issues";
import { checkServices, servicesSchema, SERVICES_KEY, type ServiceConfig } from "./services";
import { checkDataAccess, DATA_ACCESS_KEY, dataAccessSchema, type DataAccessConfig } from "./data-access";
import { checkDatastoreIdentities } from "./datastore-parameters";
import { checkClusters, CLUSTERS_KEY, clustersSchema, type ClustersConfig } from "./clusters";
import { checkClusterJobAccess } from "./cluster-job-access";
import {
  dataCenterSchema,
  DataCenterConfig,
  domainSchema,
  GlobalConfig,
  globalSchema,
  managementServerSchema,
  serverSchema,
} from "./schema";

export { valueAt } from "./zod-issues";

export type PathSegment = string | number;

export interface RawStackConfig {
  /** Config values by full key (`zeroroot:domain`), objects as parsed objects. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Whether the leaf at this path (first segment = full key) was given as a Pulumi secret. */
  isSecret(path: readonly PathSegment[]): boolean;
  /** Where a path is written, when the config came from a file. */
  locate?(path: readonly PathSegment[]): { file: string; line?: number } | undefined;
}

export type ResolvedStackConfig =
  | { readonly kind: "global"; readonly domain: string; readonly global: GlobalConfig }
  | {
      readonly kind: "dataCenter";
      readonly domain: string;
      readonly globalStack: string;
      readonly dataCenter: DataCenterConfig;
      /** `zeroroot:services`, [] when absent. */
      readonly services: readonly ServiceConfig[];
      /** `zeroroot:dataAccess` (lib/fleet/data-access.ts), [] when absent. */
      readonly dataAccess: DataAccessConfig;
      /** `zeroroot:clusters` (lib/fleet/clusters.ts), [] when absent. */
      readonly clusters: ClustersConfig;
    };

export const KEYS = {
  domain: "zeroroot:domain",
  global: "zeroroot:global",
  dataCenter: "zeroroot:dataCenter",
  globalStack: "zeroroot:globalStack",
  services: SERVICES_KEY,
  dataAccess: DATA_ACCESS_KEY,
  clusters: CLUSTERS_KEY,
  /** Drift detection settings (lib/drift/config.ts validates them; the stack program ignores them). */
  drift: "zeroroot:drift",
} as const;

const KNOWN_KEYS: readonly string[] = Object.values(KEYS);

/** Every `zeroroot:` key must be one zeroroot reads: a misspelt key would otherwise be ignored. */
function checkKnownKeys(values: Readonly<Record<string, unknown>>, report: Report): void {
  for (const key of Object.keys(values)) {
    if (!key.startsWith("zeroroot:") || KNOWN_KEYS.includes(key)) continue;
    // Compared without the shared "zeroroot:" prefix, which would make every key look close.
    const bare = didYouMean(
      key.slice("zeroroot:".length),
      KNOWN_KEYS.map((k) => k.slice("zeroroot:".length)),
    );
    const guess = bare && `zeroroot:${bare}`;
    report(
      [key],
      "a key zeroroot does not know",
      `one of ${KNOWN_KEYS.join(", ")} (docs/fleet.md)`,
      guess ? `did you mean ${guess}? Rename the key` : `remove ${joinPath([key])} or correct its spelling`,
    );
  }
}

export const DEFAULT_GLOBAL_STACK = "organization/zeroroot/global";

export interface CheckOptions {
  /**
   * `refuse` (the default, `fleet validate` and `pulumi up`): a secret given in plain text is a
   * config error. `leave-to-policy` (`zeroroot policy check`): it is left for the zero-password
   * policy to report, so the report names the rule, the resource and the remediation.
   */
  readonly plainSecrets?: "refuse" | "leave-to-policy";
}

/** Returns the resolved config and an empty list, or no value and every issue found. */
export function checkStackConfig(
  raw: RawStackConfig,
  opts: CheckOptions = {},
): {
  value?: ResolvedStackConfig;
  issues: ConfigIssue[];
} {
  return checkAll(raw, opts.plainSecrets === "leave-to-policy" ? isPlainSecretIssue : () => false);
}

const isPlainSecretIssue = (i: ConfigIssue) => i.allowed === PLAIN_SECRET_ALLOWED;
/** The `allowed` text of checks.ts's plain-text secret issue. */
const PLAIN_SECRET_ALLOWED = "a Pulumi secret";

function checkAll(
  raw: RawStackConfig,
  ignore: (i: ConfigIssue) => boolean,
): { value?: ResolvedStackConfig; issues: ConfigIssue[] } {
  const r = checkOnce(raw);
  const issues = r.issues.filter((i) => !ignore(i));
  if (r.value || issues.length > 0) return { value: r.value, issues };
  // Only ignored issues: the config is otherwise complete, so resolve it anyway.
  return { value: r.resolvedIgnoringChecks, issues };
}

function checkOnce(raw: RawStackConfig): {
  value?: ResolvedStackConfig;
  resolvedIgnoringChecks?: ResolvedStackConfig;
  issues: ConfigIssue[];
} {
  const issues: ConfigIssue[] = [];
  const report = (path: readonly PathSegment[], received: string, allowed: string, fix: string) =>
    issues.push({ path: joinPath(path), received, allowed, fix, ...raw.locate?.(path) });

  // Hostile structure first: nothing below may walk a prototype key or an unbounded value.
  if (checkStructure(raw.values, report)) return { issues };
  checkKnownKeys(raw.values, report);

  const domain = parseWith(domainSchema, raw, [KEYS.domain], issues);
  const hasGlobal = raw.values[KEYS.global] !== undefined;
  const hasDc = raw.values[KEYS.dataCenter] !== undefined;
  if (hasGlobal === hasDc) {
    report(
      [hasGlobal ? KEYS.dataCenter : KEYS.global],
      hasGlobal
        ? "both zeroroot:global and zeroroot:dataCenter"
        : "neither zeroroot:global nor zeroroot:dataCenter",
      "exactly one of them: zeroroot:global in the global stack, zeroroot:dataCenter in each data-center stack",
      "keep the key that matches this stack and move the other to its own stack file",
    );
    return { issues };
  }

  if (hasGlobal) {
    const global = parseWith(globalSchema, raw, [KEYS.global], issues);
    if (global) checkUniqueNames(global.dataCenters, report);
    if (raw.values[KEYS.dataAccess] !== undefined)
      report(
        [KEYS.dataAccess],
        "data access grants in the global stack",
        "grants only in data-center stacks, next to the datastore services they grant on",
        "move zeroroot:dataAccess to the stack file of the data center that runs the datastore",
      );
    if (raw.values[KEYS.clusters] !== undefined)
      report(
        [KEYS.clusters],
        "clusters in the global stack",
        "clusters only in data-center stacks, next to the compute servers of their scheduler",
        "move zeroroot:clusters to the stack file of the data center that runs the scheduler",
      );
    if (raw.values[KEYS.services] !== undefined)
      report(
        [KEYS.services],
        "services in the global stack",
        "services only in data-center stacks, where their servers are",
        "move zeroroot:services to the stack file of the data center that runs them",
      );
    if (issues.length > 0 || !global || !domain) return { issues };
    return { value: { kind: "global", domain, global }, issues };
  }

  const dataCenter = parseWith(dataCenterSchema, raw, [KEYS.dataCenter], issues);
  const globalStackValue = raw.values[KEYS.globalStack] ?? DEFAULT_GLOBAL_STACK;
  if (
    typeof globalStackValue !== "string" ||
    !/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/.test(globalStackValue)
  ) {
    report(
      [KEYS.globalStack],
      describeValue(globalStackValue),
      "a stack reference name such as organization/zeroroot/global",
      `set ${KEYS.globalStack} to the global stack's fully qualified name`,
    );
  }
  // Cross-field checks run on every part that parsed, so one typo does not hide other mistakes.
  const checkable = dataCenter ?? salvageDataCenter(raw.values[KEYS.dataCenter]);
  if (checkable && domain) issues.push(...checkDataCenter(checkable, domain, raw));
  const services =
    raw.values[KEYS.services] === undefined ? [] : parseWith(servicesSchema, raw, [KEYS.services], issues);
  if (services && checkable) issues.push(...checkServices(services, checkable.servers, raw));
  const dataAccess =
    raw.values[KEYS.dataAccess] === undefined
      ? []
      : parseWith(dataAccessSchema, raw, [KEYS.dataAccess], issues);
  if (dataAccess && services) issues.push(...checkDataAccess(dataAccess, services, raw));
  if (dataAccess) issues.push(...checkDatastoreIdentities(dataAccess, raw));
  const clusters =
    raw.values[KEYS.clusters] === undefined ? [] : parseWith(clustersSchema, raw, [KEYS.clusters], issues);
  if (clusters && services && checkable)
    issues.push(...checkClusters(clusters, checkable.name, checkable.servers, services, raw));
  if (clusters && services && dataAccess && checkable)
    issues.push(...checkClusterJobAccess(clusters, checkable.name, dataAccess, services, raw));
  sortByLine(issues);
  const resolved =
    dataCenter && domain && services && dataAccess && clusters
      ? ({
          kind: "dataCenter",
          domain,
          globalStack: globalStackValue as string,
          dataCenter,
          services,
          dataAccess,
          clusters,
        } as const)
      : undefined;
  if (issues.length > 0 || !resolved) return { issues, resolvedIgnoringChecks: resolved };
  return { value: resolved, issues };
}

/**
 * The parts of a data center that parse on their own; unparseable servers stay as holes so
 * that paths keep their original indices.
 */
function salvageDataCenter(value: unknown): PartialDataCenter | undefined {
  if (!value || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  const name = dataCenterSchema.shape.name.safeParse(v.name);
  if (!name.success || typeof v.managementNetwork !== "string") return undefined;
  const nets = Array.isArray(v.dataNetworks) ? v.dataNetworks : [];
  const ms = managementServerSchema.safeParse(v.managementServer);
  return {
    name: name.data,
    managementNetwork: v.managementNetwork,
    dataNetworks: nets.map((n) =>
      n && typeof n === "object" && typeof (n as { cidr?: unknown }).cidr === "string"
        ? (n as { name: string; cidr: string })
        : undefined,
    ),
    managementServer: ms.success ? ms.data : undefined,
    servers: (Array.isArray(v.servers) ? v.servers : []).map((s) => {
      const r = serverSchema.safeParse(s);
      return r.success ? r.data : undefined;
    }),
  };
}

function sortByLine(issues: ConfigIssue[]): void {
  issues.sort((a, b) => (a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) : 0));
}

/** Like checkStackConfig, but throws a ConfigValidationError listing every issue. */
export function resolveStackConfig(raw: RawStackConfig, opts: CheckOptions = {}): ResolvedStackConfig {
  const { value, issues } = checkStackConfig(raw, opts);
  if (!value) throw new ConfigValidationError(issues);
  return value;
}

function checkUniqueNames(
  names: readonly string[],
  report: (p: PathSegment[], r: string, a: string, f: string) => void,
) {
  names.forEach((n, i) => {
    const first = names.indexOf(n);
    if (first !== i)
      report(
        [KEYS.global, "dataCenters", i],
        JSON.stringify(n),
        "each data center listed once",
        `remove the second "${n}" (first at ${joinPath([KEYS.global, "dataCenters", first])})`,
      );
  });
}
