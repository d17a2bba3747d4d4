/**
 * Where a user's data sets are: the datastore services of the data-center stacks (hosts from the
 * inventory, port from the service's endpoints or its release), joined with `zeroroot:dataAccess`
 * grants for the user's verified identity; and the user's own Dask clusters (clusters.ts). Reads
 * stack files as `zeroroot fleet validate` does; a stack that does not validate is skipped with a
 * warning naming it, never half-read.
 */
import * as path from "node:path";
import * as fleet from "../fleet";
import { escapeForMessage, type Identity } from "../pki";
import { clustersInStack, mergeClusters, type DaskClusterEndpoint, type StackClusters } from "./clusters";
import { KitError } from "./errors";

export interface DataSetEndpoint {
  readonly dataCenter: string;
  readonly service: string;
  readonly engine: fleet.DatastoreEngine;
  readonly database: string;
  readonly access: fleet.DataAccessLevel;
  /** Host names of the servers the service runs on, in inventory order. */
  readonly hosts: readonly string[];
  readonly port: number;
}

export interface DatastoreScan {
  readonly dataSets: readonly DataSetEndpoint[];
  /** The identity's own clusters, each once, from its scheduler's stack. */
  readonly clusters: readonly DaskClusterEndpoint[];
  /** The platform root certificate of the global stack, when it keeps the root offline. */
  readonly rootPem?: string;
  readonly warnings: readonly string[];
}

type DcConfig = Extract<fleet.ResolvedStackConfig, { kind: "dataCenter" }>;

/** Reads every stack file of `stackDir`: the data sets `identity` is granted and its clusters. */
export function scanStacks(stackDir: string, identity: Identity, releasesDir?: string): DatastoreScan {
  const warnings: string[] = [];
  const dataSets: DataSetEndpoint[] = [];
  const clusters: { shown: string; found: StackClusters }[] = [];
  let rootPem: string | undefined;
  let files: string[];
  try {
    files = fleet.stackFilesIn(stackDir);
  } catch (err) {
    throw new KitError(
      `--stacks "${escapeForMessage(stackDir)}": cannot list it (${(err as NodeJS.ErrnoException).code ?? "error"}); give the directory of the Pulumi.<stack>.yaml files`,
      "usage",
    );
  }
  for (const file of files) {
    const shown = path.relative(process.cwd(), file) || file;
    let resolved: fleet.ResolvedStackConfig | undefined;
    try {
      const raw = fleet.readStackFile(file, { displayPath: shown });
      const r = fleet.checkStackConfig(raw, { plainSecrets: "leave-to-policy" });
      if (!r.value) {
        warnings.push(
          `${shown} skipped: ${r.issues.length} configuration error(s); run \`zeroroot fleet validate\``,
        );
        continue;
      }
      resolved = r.value;
      if (resolved.kind === "global") {
        if (resolved.global.rootCa.mode === "offline") rootPem = resolved.global.rootCa.certificate;
        continue;
      }
      dataSets.push(...dataSetsOf(resolved, identity, raw, releasesDir, warnings, shown));
      clusters.push({ shown, found: clustersInStack(resolved, identity) });
    } catch (err) {
      warnings.push(`${shown} skipped: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  return { dataSets, clusters: mergeClusters(clusters, warnings), rootPem, warnings };
}

/** The data sets of one data-center stack granted to `identity`. */
export function dataSetsOf(
  config: DcConfig,
  identity: Identity,
  raw: fleet.RawStackConfig,
  releasesDir: string | undefined,
  warnings: string[],
  shown = config.dataCenter.name,
): DataSetEndpoint[] {
  const out: DataSetEndpoint[] = [];
  for (const g of fleet.grantsOf(config.dataAccess, identity)) {
    const service = config.services.find((s) => s.name === g.service);
    const engine = service && fleet.datastoreEngineOf(fleet.parseReleaseRef(service.release).name);
    if (!service || !engine) continue; // checkDataAccess refused this already
    const port = portOf(service, raw, releasesDir);
    if (port === undefined) {
      warnings.push(
        `${shown}: service ${service.name} declares no endpoint and its release ${service.release} could not be read; no connection string for ${g.database}`,
      );
      continue;
    }
    const ids = fleet.placementOf(service, config.dataCenter.servers);
    const hosts = config.dataCenter.servers.filter((s) => ids.includes(s.id)).map((s) => s.hostname);
    out.push({ dataCenter: config.dataCenter.name, engine, ...g, hosts, port });
  }
  return out;
}

/** The service's first TCP endpoint, or else its release's first TCP port. */
function portOf(
  service: fleet.ServiceConfig,
  raw: fleet.RawStackConfig,
  releasesDir: string | undefined,
): number | undefined {
  const declared = service.endpoints?.find((e) => e.protocol === "tcp");
  if (declared) return declared.port;
  if (!releasesDir) return undefined;
  const { releases } = fleet.loadServiceReleases([service], releasesDir, raw);
  return releases.get(service.release)?.signed.manifest.ports.find((p) => p.protocol === "tcp")?.port;
}
