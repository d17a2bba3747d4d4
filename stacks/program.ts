/**
 * The one zeroroot stack program. The stack file decides what it builds: `zeroroot:global` for the
 * global stack, `zeroroot:dataCenter` for a data-center stack. Config is validated in full by
 * lib/fleet before any resource exists; components receive plain args.
 */
import * as pulumi from "@pulumi/pulumi";
import { join } from "node:path";
import { DesiredState } from "../components/desired-state";
import { DataCenter, siteOf } from "../components/fleet";
import { HardenedImage } from "../components/image";
import { ZerorootProvider } from "../components/provider";
import { SoftwareRelease } from "../components/release";
import { asCipherSuite } from "../lib/contracts/resources";
import {
  bmcPasswordKeepers,
  buildInstances,
  ConfigValidationError,
  KEYS,
  loadServiceReleases,
  resolveStackConfig,
  type RawStackConfig,
  type ResolvedStackConfig,
} from "../lib/fleet";
import { resolveHardenedImageSpec } from "../lib/hardening";
import { clusterServices, loadClusterReleases } from "../lib/compute/cluster-services";
import { checkJobIssuers, jobAccessGaps, jobAccessParameter } from "../lib/compute/job-access";
import { checkAgainstGlobal } from "./consistency";
import { defineGlobal, type StackOutputs } from "./global";

export type { StackOutputs } from "./global";

export interface StackOptions {
  /** Where the signed releases are. @default - releases/ of this checkout */
  readonly releasesDir?: string;
  /**
   * How a BMC password given in plain text is treated. @default - "refuse": a config error, as
   * `fleet validate` reports it. `zeroroot policy check` passes "leave-to-policy": the password is
   * then passed as plain text, and the zero-password policy names the rule and the resource.
   */
  readonly plainSecrets?: "refuse" | "leave-to-policy";
}

const RELEASES_DIR = join(__dirname, "..", "releases");

export function defineStack(raw: RawStackConfig, opts: StackOptions = {}): StackOutputs {
  const config = resolveStackConfig(raw, { plainSecrets: opts.plainSecrets });
  return config.kind === "global"
    ? defineGlobal(config)
    : defineDataCenter(config, raw, opts.releasesDir ?? RELEASES_DIR);
}

function defineDataCenter(
  config: Extract<ResolvedStackConfig, { kind: "dataCenter" }>,
  raw: RawStackConfig,
  releasesDir: string,
): StackOutputs {
  const dc = config.dataCenter;
  // Releases are read before any resource exists, so a missing one is a config error with file:line.
  const loaded = loadServiceReleases(config.services, releasesDir, raw);
  // Users' Dask clusters run as services of their own (lib/compute/cluster-services.ts).
  const clusterReleases = loadClusterReleases(config.clusters, releasesDir, raw);
  if (loaded.issues.length + clusterReleases.issues.length > 0)
    throw new ConfigValidationError([...loaded.issues, ...clusterReleases.issues]);
  for (const [ref, r] of clusterReleases.releases) loaded.releases.set(ref, r);
  const global = new pulumi.StackReference(`${dc.name}-global`, { name: config.globalStack });
  // The global stack is the fleet's source of truth for its domain and data centers. Every resource
  // takes the root certificate through this check, so a mismatch fails the update before any
  // resource changes (a logged error inside an apply would not fail it).
  const rootCertificatePem = checkAgainstGlobal(global, {
    domain: config.domain,
    dataCenter: dc.name,
    globalStack: config.globalStack,
  });
  // Servers being decommissioned get no instances; the rest are placed as before.
  const active = dc.servers.filter((s) => !s.decommission);
  const jobAccessSources = {
    dataAccess: config.dataAccess,
    clusters: config.clusters,
    servers: active,
    dataCenter: dc.name,
  };
  for (const gap of jobAccessGaps(jobAccessSources)) void pulumi.log.warn(gap);
  const jobAccessOf = (service: string) => jobAccessParameter(service, jobAccessSources);
  const jobIssuerIssues = checkJobIssuers(config.services, jobAccessOf, raw);
  if (jobIssuerIssues.length > 0) throw new ConfigValidationError(jobIssuerIssues);
  const instances = buildInstances(
    active,
    [
      ...config.services,
      ...clusterServices(config.clusters, {
        dataCenter: dc.name,
        domain: config.domain,
        servers: active,
        grants: { dataAccess: config.dataAccess, services: config.services },
      }),
    ],
    loaded.releases,
    dc.partitionsPerServer,
    config.dataAccess,
    // Where each datastore accepts job certificates: every worker node of its grantees' clusters.
    jobAccessOf,
  );
  const holdsData = (id: string) => (instances.get(id) ?? []).some((i) => i.holdsData);
  const controlPlaneEndpoints = pulumi
    .all([global.getOutput("dataCenters"), global.getOutput("controlPlane")])
    .apply(([names, cp]) =>
      (Array.isArray(names) ? (names as string[]) : [dc.name]).map(
        (n) =>
          `https://etcd.${n}.${config.domain}:${(cp as { clientPort?: number } | undefined)?.clientPort ?? 2379}`,
      ),
    );
  // One provider per stack holds what every resource of the data center shares, once: the root, the
  // control plane and the site (components/provider.ts); resources given the same values leave them
  // out of their own state.
  const provider = new ZerorootProvider(dc.name, {
    rootCertificatePem,
    controlPlaneEndpoints,
    site: siteOf({
      name: dc.name,
      domain: config.domain,
      managementServer: dc.managementServer,
      sitePort: dc.sitePort,
    }),
  });

  const dataCenter = new DataCenter(
    dc.name,
    {
      name: dc.name,
      domain: config.domain,
      managementServer: dc.managementServer,
      sitePort: dc.sitePort,
      rootCertificatePem,
      // The rotation period comes from the clock the program runs at: a run in a new period rotates.
      managedBmcCredential: {
        keepers: bmcPasswordKeepers(dc.bmcCredentials, new Date()),
        userIds: dc.bmcCredentials.userIds,
        channel: dc.bmcCredentials.channel,
        usernameBase: dc.bmcCredentials.usernameBase,
        passwordBytes: dc.bmcCredentials.passwordBytes,
      },
      servers: dc.servers.map((s, i) => ({
        id: s.id,
        hostname: s.hostname,
        roles: s.roles,
        address: s.address,
        macs: s.macs,
        bmc: {
          address: s.bmc.address,
          port: s.bmc.port,
          username: s.bmc.username,
          // Secret exactly when the config made it one (refused otherwise unless left to the policy).
          password: raw.isSecret([KEYS.dataCenter, "servers", i, "bmc", "password"])
            ? pulumi.secret(s.bmc.password)
            : pulumi.output(s.bmc.password),
          cipherSuite: asCipherSuite(s.bmc.cipherSuite),
        },
        holdsData: holdsData(s.id),
        decommission: s.decommission,
      })),
    },
    { providers: [provider] },
  );
  // The image the servers install, from lib/hardening's spec: what the image policies judge.
  const image = new HardenedImage(
    `${dc.name}-image`,
    {
      dataCenter: dc.name,
      spec: resolveHardenedImageSpec({ partitions: dc.partitionsPerServer }),
      image: dc.image,
    },
    { provider },
  );

  // The releases this data center runs live in its own stack: its desired states depend on them, so
  // a node never reads a desired state naming a release that is not published yet.
  const releases = [...loaded.releases.values()].map(
    (r) =>
      new SoftwareRelease(
        `${dc.name}-${r.signed.manifest.name}-${r.signed.manifest.version}`,
        {
          signed: r.signed,
          rootCertificatePem,
          controlPlaneEndpoints,
        },
        { provider },
      ),
  );
  const desiredStates = dc.servers.map(
    (s) =>
      new DesiredState(
        `${s.id}-state`,
        {
          computerId: s.id,
          dataCenter: dc.name,
          instances: instances.get(s.id) ?? [],
          controlPlaneEndpoints,
          rootCertificatePem,
        },
        { dependsOn: releases, provider },
      ),
  );

  return {
    dataCenter: dc.name,
    zone: dataCenter.zone,
    servers: dataCenter.servers.map((s) => ({
      id: s.serverId,
      hostname: s.hostname,
      address: s.address,
      roles: s.roles,
      bmcEndpoint: s.bmcEndpoint,
    })),
    releases: releases.map((r) => r.publishedKey),
    imageSpecHash: image.specHash,
    desiredStateVersions: Object.fromEntries(desiredStates.map((d, i) => [dc.servers[i].id, d.version])),
  };
}
