/**
 * MariaDB/Galera in the lab: the release as the lab signs it (package versions of the built storage
 * image) and what each data center's stack says about it — one member on the first storage server of
 * every data center, peers and bootstrap member from the stacks' servers, the issuers of user
 * certificates from the lab's ceremony, and the data sets users may use (`zeroroot:dataAccess`).
 */
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { galeraParameters, mariadbDn } from "../../../lib/datastores/mariadb-galera";
import type { LabNetPlan } from "../../net";
import { labPackageVersion } from "../../orchestrate/image-spec";
import { labPaths } from "../../orchestrate/layout";
import type { LabRelease } from "../../orchestrate/releases";
import type { DatastoreStackConfig } from "../../orchestrate/stacks";
import {
  copyDataSets,
  crlSourcesOf,
  labDatastoreTopology,
  storageServerOf,
  type DatastoreEntries,
  type DatastoreTopology,
  type DataSet,
} from "../../orchestrate/stack-datastores";
import { galeraManifest, galeraReleaseSources, GALERA_PORTS, GALERA_RELEASE_NAME } from "./release";

export const GALERA_SERVICE = "galera";
export const GALERA_CLUSTER = "zeroroot-lab";

/** The lab's data sets on Galera: alice (dc1) writes shop, bob (dc2) reads it, dave (dc3) owns inventory. */
export const GALERA_DATA_ACCESS: readonly DataSet[] = [
  {
    service: GALERA_SERVICE,
    database: "shop",
    grants: [
      { user: "dc1/user/alice", access: "readwrite" },
      { user: "dc2/user/bob", access: "read" },
    ],
  },
  {
    service: GALERA_SERVICE,
    database: "inventory",
    grants: [{ user: "dc3/user/dave", access: "readwrite" }],
  },
];

export function galeraLabRelease(): LabRelease {
  const { name, version, ...rest } = galeraManifest("", (p) => labPackageVersion("storage", p));
  const manifest: Record<string, unknown> = { ...rest };
  for (const k of ["kind", "files", "notAfter"]) delete manifest[k];
  return { name, version, sources: galeraReleaseSources(), manifest };
}
export { GALERA_RELEASE_NAME };

type Dc = LabNetPlan["dataCenters"][number];
type Server = Dc["servers"][number];

/** The member of each data center: its first storage server. */
export function galeraMembers(
  plan: LabNetPlan,
  isStorage: (d: Dc, s: Server) => boolean,
): { dc: Dc; server: Server }[] {
  return plan.dataCenters.flatMap((dc) => {
    const server = dc.servers.find((s) => isStorage(dc, s));
    return server ? [{ dc, server }] : [];
  });
}

/**
 * The Galera entries of data center `dcId`'s stack (the lab's and the examples', stack-datastores.ts):
 * one member on its first storage server, every data center's member as peers, dc1's as the one
 * that may found the cluster, every site as a source of CRLs; nothing with fewer than three members.
 */
export function galeraServices(
  t: DatastoreTopology,
  dcId: string,
  releaseRef: string,
  dataSets: readonly DataSet[] = GALERA_DATA_ACCESS,
  cluster = GALERA_CLUSTER,
): DatastoreEntries {
  const members = t.dataCenters.flatMap((d) => storageServerOf(t, d.id) ?? []);
  const here = storageServerOf(t, dcId);
  if (!here || members.length < 3) return { services: [], dataAccess: [] };
  const parameters = {
    ...galeraParameters({
      cluster,
      peers: members.map((m) => m.address),
      bootstrap: members[0].address,
      userIssuers: t.userIssuers ?? {},
      jobIssuers: t.jobIssuers ?? {},
    }),
    // every site's CRLs: a member's certificate is issued by its own data center's site CA
    crlSources: crlSourcesOf(t),
  };
  return {
    services: [
      {
        name: GALERA_SERVICE,
        release: releaseRef,
        placement: { servers: [here.id] },
        holdsData: true,
        minimumPersistence: t.minimumPersistence,
        // what clients reach: the SQL port only. The per-user egress grants a service's listed
        // endpoints (lib/compute/grants.ts), so a granted user's jobs reach SQL and never the
        // members' replication ports (4567, 4568, 4444), which the image still opens to members.
        endpoints: [{ port: GALERA_PORTS.sql, tls: true, requireClientCertificate: true }],
        parameters,
      },
    ],
    dataAccess: copyDataSets(dataSets),
  };
}

/**
 * The lab's: the issuers of user certificates are the lab ceremony's data-center CAs; those of job
 * certificates the sites' online CAs, as the root signed them (`lab up` starts the sites before it
 * writes the stacks; a site whose CA is not signed yet gives its data center's jobs no account).
 */
export const galeraStack: DatastoreStackConfig = ({ plan, dc, isStorage, releaseRef }) => {
  const paths = labPaths();
  const dnOf = (file: string) => mariadbDn(new X509Certificate(readFileSync(file)).subject);
  const userIssuers = Object.fromEntries(
    plan.dataCenters.map((d) => [d.id, dnOf(join(paths.pki, d.id, "ca.pem"))]),
  );
  const jobIssuers = Object.fromEntries(
    plan.dataCenters
      .map((d) => [d.id, join(paths.sites, d.id, "issuing-signed.crt")])
      .filter(([, file]) => existsSync(file))
      .map(([id, file]) => [id, dnOf(file)]),
  );
  return galeraServices(
    { ...labDatastoreTopology(plan, isStorage, userIssuers), jobIssuers },
    dc.id,
    releaseRef,
  );
};
