/**
 * The lab's control plane: one etcd member on each data center's management namespace, as its
 * own unprivileged user, mutual TLS for peers and clients, one role per computer (lab/controlplane),
 * and the CRLs of every CA (root, the ceremony's offline CAs, the sites' online CAs) enforced.
 * Member certificates come from the ceremony's per-data-center issuing CAs.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { applyAccessPlan, buildAccessPlan } from "../../lib/controlplane";
import { openCa, parseIdentity, type Identity } from "../../lib/pki";
import {
  controlPlaneHealth,
  layoutFromNetPlan,
  memberProgram,
  readClusterState,
  rootEtcdctl,
  publishRevocations,
  startControlPlane,
  stopControlPlane,
} from "../controlplane";
import { supervisorPid } from "../supervise";
import { DOMAIN, mgmtNs, type LabLayout } from "./layout";
import { LAB_OPERATOR } from "./pki";

export const controlPlaneDir = (lab: LabLayout) => join(lab.dir, "controlplane");

/** Endpoints and the names servers must resolve to reach them. */
export function controlPlaneEndpoints(lab: LabLayout): {
  endpoints: string[];
  hosts: Record<string, string>;
} {
  const members = layoutFromNetPlan(lab.plan, DOMAIN);
  return {
    endpoints: members.map((m) => `https://${m.dnsName}:2379`),
    hosts: Object.fromEntries(members.map((m) => [m.dnsName, m.address])),
  };
}

export async function ensureControlPlane(
  lab: LabLayout,
  rootPem: string,
  crlFiles: readonly string[],
  log: (m: string) => void,
): Promise<void> {
  const health = await controlPlaneHealth(controlPlaneDir(lab)).catch(() => []);
  // Members an older `lab up` started have no supervisor: startControlPlane moves them under one.
  const supervised = existsSync(join(controlPlaneDir(lab), "cluster.json"))
    ? readClusterState(controlPlaneDir(lab)).members.every((m) => supervisorPid(memberProgram(m).dir))
    : false;
  const dcs = lab.plan.dataCenters.map((d) => d.id);
  const plan = buildAccessPlan({
    dataCenters: dcs,
    computers: lab.plan.dataCenters.flatMap((d) => d.servers.map((s) => ({ id: s.id, dc: d.id }))),
    // etcd knows users by CN only (docs/security.md): the operator's etcd user is its name.
    operators: [(parseIdentity(LAB_OPERATOR) as Identity).name],
    // Gives each site's timestamp identity its etcd user and role (desired-state freshness).
    domain: DOMAIN,
  });
  if (health.length === lab.plan.dataCenters.length && health.every((h) => h.healthy) && supervised) {
    // The servers may have changed since (grown or shrunk): a running control plane still gets the
    // access plan of this lab, or a new server's agent could neither read its desired state nor report.
    await applyAccessPlan(plan, rootEtcdctl(readClusterState(controlPlaneDir(lab))));
    log(
      `control plane: ${health.length} etcd members healthy, each under its supervisor; one role per computer`,
    );
    return;
  }
  const cp = await startControlPlane({
    members: layoutFromNetPlan(lab.plan, DOMAIN),
    pki: {
      rootCertificatePem: rootPem,
      issuing: Object.fromEntries(
        dcs.map((dc) => [dc, openCa(lab.paths.pki, dc, lab.secrets.ceremonyPassphrase)]),
      ),
      crls: crlFiles.map((f) => readFileSync(f, "utf8")),
    },
    plan,
    stateDir: controlPlaneDir(lab),
    clientNamespaces: dcs.map(mgmtNs),
  });
  log(`control plane: ${cp.endpoints.length} etcd members, mutual TLS, one role per computer`);
}

/**
 * Hands etcd the current CRLs of every CA whose certificates reach it, the sites' online CAs
 * included (they exist only once the sites ran). Open connections are kept: this converges the lab;
 * after revoking a certificate, call publishRevocations without keepOpenConnections.
 */
export async function refreshControlPlaneRevocations(
  lab: LabLayout,
  crlFiles: readonly string[],
  log: (m: string) => void,
): Promise<void> {
  const sites = lab.plan.dataCenters
    .map((d) => join(lab.paths.sites, d.id, "state"))
    .filter((dir) => existsSync(join(dir, "issuing.crt")) && existsSync(join(dir, "issuing.crl")));
  const list = await publishRevocations(
    {
      crls: [...crlFiles, ...sites.map((dir) => join(dir, "issuing.crl"))].map((f) =>
        readFileSync(f, "utf8"),
      ),
      otherIssuers: sites.map((dir) => readFileSync(join(dir, "issuing.crt"), "utf8")),
    },
    { stateDir: controlPlaneDir(lab), keepOpenConnections: true },
  );
  const stale = list.sources.filter((s) => s.stale).map((s) => s.ca);
  log(
    `control plane: CRLs of ${list.sources.length} CAs enforced (${list.serials.length} serials revoked)` +
      (stale.length ? `; STALE CRLs (past nextUpdate, etcd does not check): ${stale.join(", ")}` : ""),
  );
}

export async function stopLabControlPlane(lab: LabLayout): Promise<void> {
  await stopControlPlane(controlPlaneDir(lab));
}
