/**
 * The lab's control plane: one etcd member on each data center's management namespace, as its
 * own unprivileged user, mutual TLS for peers and clients, one role per computer (lab/controlplane).
 * Member certificates come from the ceremony's per-data-center issuing CAs.
 */
import { join } from "node:path";
import { buildAccessPlan } from "../../lib/controlplane";
import { openCa } from "../../lib/pki";
import { controlPlaneHealth, layoutFromNetPlan, startControlPlane, stopControlPlane } from "../controlplane";
import { DOMAIN, mgmtNs, type LabLayout } from "./layout";

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
  log: (m: string) => void,
): Promise<void> {
  const health = await controlPlaneHealth(controlPlaneDir(lab)).catch(() => []);
  if (health.length === lab.plan.dataCenters.length && health.every((h) => h.healthy)) {
    log(`control plane: ${health.length} etcd members healthy`);
    return;
  }
  const dcs = lab.plan.dataCenters.map((d) => d.id);
  const cp = await startControlPlane({
    members: layoutFromNetPlan(lab.plan, DOMAIN),
    pki: {
      rootCertificatePem: rootPem,
      issuing: Object.fromEntries(
        dcs.map((dc) => [dc, openCa(lab.paths.pki, dc, lab.secrets.ceremonyPassphrase)]),
      ),
    },
    plan: buildAccessPlan({
      dataCenters: dcs,
      computers: lab.plan.dataCenters.flatMap((d) => d.servers.map((s) => ({ id: s.id, dc: d.id }))),
      operators: ["operator"],
    }),
    stateDir: controlPlaneDir(lab),
    clientNamespaces: dcs.map(mgmtNs),
  });
  log(`control plane: ${cp.endpoints.length} etcd members, mutual TLS, one role per computer`);
}

export async function stopLabControlPlane(lab: LabLayout): Promise<void> {
  await stopControlPlane(controlPlaneDir(lab));
}
