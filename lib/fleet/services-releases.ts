/**
 * The signed releases services refer to, read from `releases/<name>-<version>.signed.json`, and the
 * per-computer instances built from services and release manifests (lib/contracts' InstanceSpec).
 * The stack program reads the files; signatures are verified at deploy time by the SoftwareRelease
 * provider and again on every node, so here a release is only parsed and its manifest checked.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { EndpointSpec, InstanceSpec } from "../contracts/resources";
import { manifestDigest, validateManifest, type ReleaseManifest, type SignedRelease } from "../release";
import { ConfigIssue, joinPath } from "./issues";
import type { ServerConfig } from "./schema";
import {
  PARTITION_SLOTS,
  PARTITION_UID_BASE,
  SERVICES_KEY,
  parseDuration,
  parseReleaseRef,
  placementOf,
  type ServiceConfig,
} from "./services";
import type { PathSegment, RawStackConfig } from "./validate";
import type { DataAccessConfig } from "./data-access";
import { datastoreParameters } from "./datastore-parameters";

export interface LoadedRelease {
  /** `name@version`. */
  readonly ref: string;
  /** Path of the signed file, relative to the project root. */
  readonly file: string;
  readonly signed: SignedRelease;
  readonly manifestDigest: string;
}

/** `postgresql@15.8.0` → `postgresql-15.8.0.signed.json`. */
export const releaseFileName = (ref: string): string => {
  const { name, version } = parseReleaseRef(ref);
  return `${name}-${version}.signed.json`;
};

/**
 * Reads the release each service names, once per reference. Returns the releases found and an
 * issue (at the service's `release` key) for each file that is missing, unreadable or whose
 * manifest is not the one named, or that disagrees with the service (holdsData).
 */
export function loadServiceReleases(
  services: readonly ServiceConfig[],
  releasesDir: string,
  raw: RawStackConfig,
  shownDir = "releases",
): { releases: Map<string, LoadedRelease>; issues: ConfigIssue[] } {
  const releases = new Map<string, LoadedRelease>();
  const issues: ConfigIssue[] = [];
  const failed = new Set<string>();
  services.forEach((s, i) => {
    const path: PathSegment[] = [SERVICES_KEY, i, "release"];
    const report = (received: string, allowed: string, fix: string) =>
      issues.push({ path: joinPath(path), received, allowed, fix, ...raw.locate?.(path) });
    const shown = `${shownDir}/${releaseFileName(s.release)}`;
    if (failed.has(s.release)) return;
    let loaded = releases.get(s.release);
    if (!loaded) {
      let signed: SignedRelease;
      try {
        const doc = JSON.parse(
          readFileSync(join(releasesDir, releaseFileName(s.release)), "utf8"),
        ) as Partial<SignedRelease>;
        signed = {
          manifest: validateManifest(doc.manifest),
          signature: doc.signature as SignedRelease["signature"],
        };
      } catch (err) {
        failed.add(s.release);
        const code = (err as NodeJS.ErrnoException).code;
        report(
          `${JSON.stringify(s.release)}, but ${shown} ${code === "ENOENT" ? "does not exist" : `cannot be used (${(err as Error).message})`}`,
          "a release with a signed file releases/<name>-<version>.signed.json",
          "sign the release (`zeroroot release sign ... --out " + shown + "`) or correct the reference",
        );
        return;
      }
      const { name, version } = parseReleaseRef(s.release);
      if (signed.manifest.name !== name || signed.manifest.version !== version) {
        failed.add(s.release);
        report(
          `${JSON.stringify(s.release)}, but ${shown} holds ${signed.manifest.name}@${signed.manifest.version}`,
          "the file of the release named",
          `rename the file or correct the reference`,
        );
        return;
      }
      loaded = { ref: s.release, file: shown, signed, manifestDigest: manifestDigest(signed.manifest) };
      releases.set(s.release, loaded);
    }
    if (loaded.signed.manifest.holdsData && !s.holdsData)
      issues.push({
        path: joinPath([SERVICES_KEY, i, "holdsData"]),
        received: "false",
        allowed: `true: release ${s.release} declares that its instances hold data`,
        fix: `set holdsData: true and a minimumPersistence such as "30d"`,
        ...raw.locate?.([SERVICES_KEY, i, "holdsData"]),
      });
  });
  return { releases, issues };
}

/**
 * Partition slot of each service name on one computer, among the `slotCount` partitions its image
 * pre-created: stable under appends and most removals.
 */
export function partitionSlots(
  names: readonly string[],
  slotCount: number = PARTITION_SLOTS,
): Map<string, number> {
  if (names.length > slotCount)
    throw new RangeError(`${names.length} instances on one computer; its image has ${slotCount} partitions`);
  const taken = new Set<number>();
  const slots = new Map<string, number>();
  for (const n of names) {
    let slot = createHash("sha256").update(n).digest().readUInt32BE(0) % slotCount;
    while (taken.has(slot)) slot = (slot + 1) % slotCount;
    taken.add(slot);
    slots.set(n, slot);
  }
  return slots;
}

export const partitionUser = (slot: number): { user: string; uid: number } => ({
  user: `zr-p${String(slot).padStart(3, "0")}`,
  uid: PARTITION_UID_BASE + slot,
});

function endpointsOf(service: ServiceConfig, manifest: ReleaseManifest): EndpointSpec[] {
  const given = service.endpoints;
  if (given) return given.map((e) => ({ ...e }));
  return manifest.ports.map((p) => ({
    port: p.port,
    protocol: p.protocol,
    tls: p.tls,
    requireClientCertificate: p.requireClientCertificate,
  }));
}

/** Every computer's instances: one per service placed on it, in config order. */
export function buildInstances(
  servers: readonly ServerConfig[],
  services: readonly ServiceConfig[],
  releases: ReadonlyMap<string, LoadedRelease>,
  partitionsPerServer: number = PARTITION_SLOTS,
  /** `zeroroot:dataAccess`: datastore instances get their grants as parameters (datastore-parameters.ts). */
  dataAccess: DataAccessConfig = [],
  /** The `jobAccess` parameter of a datastore service (lib/compute/job-access.ts `jobAccessParameter`). */
  jobAccessOf: (service: string) => string = () => "",
): Map<string, InstanceSpec[]> {
  const out = new Map<string, InstanceSpec[]>(servers.map((s) => [s.id, []]));
  const placed = new Map<string, ServiceConfig[]>(servers.map((s) => [s.id, []]));
  for (const svc of services) for (const id of placementOf(svc, servers)) placed.get(id)?.push(svc);
  for (const [id, svcs] of placed) {
    const slots = partitionSlots(
      svcs.map((s) => s.name),
      partitionsPerServer,
    );
    for (const svc of svcs) {
      const rel = releases.get(svc.release);
      if (!rel) throw new Error(`release ${svc.release} was not loaded`);
      const m = rel.signed.manifest;
      const partition = svc.runAs
        ? { user: svc.runAs.user, uid: svc.runAs.uid }
        : partitionUser(slots.get(svc.name)!);
      out.get(id)!.push({
        name: svc.name,
        release: { name: m.name, version: m.version, manifestDigest: rel.manifestDigest },
        partition,
        programs: m.programs.map((p) => ({
          name: p.name,
          command: p.command,
          user: partition.user,
          uid: partition.uid,
          capabilities: [],
          noNewPrivileges: true,
        })),
        endpoints: endpointsOf(svc, m),
        holdsData: svc.holdsData,
        minimumPersistenceSeconds: svc.minimumPersistence ? parseDuration(svc.minimumPersistence)! : 0,
        parameters: { ...svc.parameters, ...datastoreParameters(svc, dataAccess, jobAccessOf(svc.name)) },
      });
    }
  }
  return out;
}
