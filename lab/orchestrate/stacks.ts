/**
 * Writes the lab's stack files, in the same format users write theirs: the global stack with the
 * offline root's certificate, one data-center stack per lab data center with its servers and their
 * BMC passwords as Pulumi secrets (encrypted with the lab's passphrase, as the CLI would).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { PassphraseCrypter } from "../pulumi-passphrase";
import { BMC_USER, DOMAIN, LAB_PARTITIONS, SITE_PORT, type LabLayout } from "./layout";
import type { DcNetPlan, LabNetPlan } from "../net";
import type { LabImages } from "./image";
import { LAB_RELEASE_REF, labReleases, releaseRef } from "./releases";
import { postgresqlStack } from "./stack-postgresql";
import { galeraStack, GALERA_RELEASE_NAME } from "../releases/mariadb-galera/lab";
import { DASK_RELEASE_NAME, labClusters } from "../releases/dask/lab";
import { clusterEntryForDatastores } from "../../lib/compute/job-access";
import type { ClusterConfig } from "../../lib/fleet";

export interface LabStackFiles {
  readonly global: string;
  readonly dataCenters: Record<string, string>;
}

/** Role of the j-th server (0-based) of a lab data center: storage first, so every DC holds storage. */
const roleOf = (j: number, n: number) => (j === 1 && n > 1 ? "compute" : "storage");

/** The role of a lab server (its image and what runs on it follow from it). */
export function labServerRole(d: DcNetPlan, serverId: string): "storage" | "compute" {
  const j = d.servers.findIndex((s) => s.id === serverId);
  return roleOf(j, d.servers.length);
}

/** The image each server is installed with: its role's. */
export function labServerImages(plan: LabNetPlan, images: LabImages): Record<string, string> {
  return Object.fromEntries(
    plan.dataCenters.flatMap((d) => d.servers.map((s) => [s.id, images[labServerRole(d, s.id)].sha256])),
  );
}

/**
 * What one datastore adds to a data center's stack: its `zeroroot:services` entries and its
 * `zeroroot:dataAccess` entries. One small function per datastore (stack-postgresql.ts, ...).
 */
export type DatastoreStackConfig = (ctx: {
  readonly plan: LabNetPlan;
  readonly dc: DcNetPlan;
  readonly isStorage: (d: DcNetPlan, s: DcNetPlan["servers"][number]) => boolean;
  /** `name@version` of the lab release the datastore runs. */
  readonly releaseRef: string;
}) => { services: Record<string, unknown>[]; dataAccess: Record<string, unknown>[] };

/** The lab's datastores, with the name of the lab release each runs. */
const DATASTORES: readonly { release: string; stack: DatastoreStackConfig }[] = [
  { release: "postgresql", stack: postgresqlStack },
  { release: GALERA_RELEASE_NAME, stack: galeraStack },
];

function datastoreConfig(plan: LabNetPlan, dc: DcNetPlan) {
  const refs = new Map(labReleases().map((r) => [r.name, releaseRef(r)]));
  const isStorage = (d: DcNetPlan, s: DcNetPlan["servers"][number]) => labServerRole(d, s.id) === "storage";
  const parts = DATASTORES.map((x) => x.stack({ plan, dc, isStorage, releaseRef: refs.get(x.release)! }));
  return { services: parts.flatMap((p) => p.services), dataAccess: parts.flatMap((p) => p.dataAccess) };
}

export function writeLabStacks(
  lab: LabLayout,
  rootPem: string,
  /** The image the sites serve: the stacks' HardenedImage checks it is there and unaltered. */
  image?: { readonly sha256: string; readonly dir: string },
): LabStackFiles {
  mkdirSync(lab.paths.stacks, { recursive: true, mode: 0o700 });
  const global = join(lab.paths.stacks, "Pulumi.global.yaml");
  const header = "# Written by `zeroroot lab up`; the lab's passphrase is in ../secrets.json (lab only).\n";
  writeFileSync(
    global,
    header +
      stringify({
        config: {
          "zeroroot:domain": DOMAIN,
          "zeroroot:global": {
            dataCenters: lab.plan.dataCenters.map((d) => d.id),
            rootCa: { mode: "offline", certificate: rootPem },
          },
        },
      }),
  );
  const dataCenters: Record<string, string> = {};
  for (const d of lab.plan.dataCenters) {
    const file = join(lab.paths.stacks, `Pulumi.${d.id}.yaml`);
    dataCenters[d.id] = file;
    const crypter = stackCrypter(file, lab.secrets.stackPassphrase);
    const datastores = datastoreConfig(lab.plan, d);
    const doc = {
      encryptionsalt: crypter.encryptionSalt,
      config: {
        "zeroroot:domain": DOMAIN,
        "zeroroot:globalStack": "organization/zeroroot/global",
        // Every lab server runs the lab's signed release; it holds data, so it is protected.
        "zeroroot:services": [
          {
            name: "echo",
            release: LAB_RELEASE_REF,
            placement: { servers: d.servers.map((s) => s.id) },
            holdsData: true,
            minimumPersistence: "1h",
          },
          ...datastores.services,
        ],
        ...(datastores.dataAccess.length > 0 ? { "zeroroot:dataAccess": datastores.dataAccess } : {}),
        ...userClusters(lab.plan, d, datastores.dataAccess),
        "zeroroot:dataCenter": {
          name: d.id,
          location: "lab",
          managementNetwork: d.managementSubnet,
          dataNetworks: [{ name: "data", cidr: d.dataSubnet }],
          managementServer: {
            id: `${d.id}-mgmt`,
            hostname: `mgmt.${d.id}.${DOMAIN}`,
            managementAddress: d.managementServer.managementAddress,
            dataAddress: d.managementServer.dataAddress,
            macs: [`02:00:00:00:${d.id.slice(2).padStart(2, "0")}:02`],
          },
          sitePort: SITE_PORT,
          ...(image ? { image: { sha256: image.sha256, dir: image.dir } } : {}),
          partitionsPerServer: LAB_PARTITIONS,
          // An operator's edit (e.g. a bumped generation to rotate now) survives the next `lab up`.
          ...keptBmcCredentials(file),
          servers: d.servers.map((s, j) => ({
            id: s.id,
            hostname: `${s.id.slice(d.id.length + 1)}.${d.id}.${DOMAIN}`,
            roles: [roleOf(j, d.servers.length)],
            address: s.dataAddress,
            macs: [s.mac],
            bmc: {
              address: s.bmcAddress,
              port: 623,
              username: BMC_USER,
              password: { secure: crypter.encrypt(lab.secrets.bmcPasswords[s.id]) },
              cipherSuite: 3,
            },
          })),
        },
      },
    };
    writeFileSync(file, header + stringify(doc));
  }
  return { global, dataCenters };
}

/**
 * The crypter of a stack file: its existing salt when it has one (as Pulumi keeps a stack's salt), so
 * that secrets the deployment state holds, encrypted with the stack's key, stay readable across runs.
 */
function stackCrypter(file: string, passphrase: string): PassphraseCrypter {
  if (existsSync(file)) {
    const salt = (parse(readFileSync(file, "utf8")) as { encryptionsalt?: unknown } | null)?.encryptionsalt;
    if (typeof salt === "string") return PassphraseCrypter.fromSalt(passphrase, salt);
  }
  return PassphraseCrypter.create(passphrase);
}

/** `zeroroot:dataCenter.bmcCredentials` of an existing stack file, kept as its operator set it. */
function keptBmcCredentials(file: string): { bmcCredentials?: unknown } {
  if (!existsSync(file)) return {};
  const doc = parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const dc = doc?.config?.["zeroroot:dataCenter"] as { bmcCredentials?: unknown } | undefined;
  return dc?.bmcCredentials === undefined ? {} : { bmcCredentials: dc.bmcCredentials };
}

/** The lab user's Dask cluster as a data center's stack runs it (lab/releases/dask/lab.ts). */
function labClustersOf(plan: LabNetPlan, dc: DcNetPlan): ClusterConfig[] {
  const ref = labReleases().find((r) => r.name === DASK_RELEASE_NAME);
  const isCompute = (d: DcNetPlan, s: DcNetPlan["servers"][number]) => labServerRole(d, s.id) === "compute";
  return ref ? labClusters(plan, dc, isCompute, releaseRef(ref)) : [];
}

/**
 * `zeroroot:clusters` of a data center's stack: the clusters it runs and, when its datastores grant
 * the owner of a cluster it runs no process of, that cluster's entry for their job lines (Galera's
 * members apply the job accounts cluster-wide, so every member's stack must list the same clusters).
 */
function userClusters(plan: LabNetPlan, dc: DcNetPlan, dataAccess: readonly Record<string, unknown>[]) {
  const here = labClustersOf(plan, dc);
  const granted = new Set(
    dataAccess.flatMap((e) => (e.grants as { user: string }[] | undefined)?.map((g) => g.user) ?? []),
  );
  const elsewhere = plan.dataCenters.filter((o) => o.id !== dc.id).flatMap((o) => labClustersOf(plan, o));
  const key = (c: ClusterConfig) => `${c.owner} ${c.name}`;
  const missing = [...new Set(elsewhere.map(key))].filter(
    (k) => !here.some((c) => key(c) === k) && granted.has(k.split(" ")[0]),
  );
  const clusters = [
    ...here,
    ...missing.flatMap((k) => clusterEntryForDatastores(elsewhere.filter((c) => key(c) === k)) ?? []),
  ];
  return clusters.length > 0 ? { "zeroroot:clusters": clusters } : {};
}
