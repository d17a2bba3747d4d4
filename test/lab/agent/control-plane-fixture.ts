/**
 * The control-plane side of the agent's lab: a PKI hierarchy (root, one issuing CA per data center,
 * the signers trust.json names and one it does not, two computer identities), a real 3-member etcd in
 * test namespaces (lab/controlplane), and root etcdctl access
 * to what the agent reads and writes there.
 */
import { buildAccessPlan, keys } from "../../../lib/controlplane";
import * as pki from "../../../lib/pki";
import type { Signer } from "../../../lib/release";
import {
  createTestNet,
  issueIdentity,
  readClusterState,
  rootEtcdctl,
  startControlPlane,
  type IssuedIdentity,
  type LabControlPlane,
} from "../../../lab/controlplane";

export const ZONE = "zeroroot.test";
export const DCS = ["dc1", "dc2", "dc3"];
export const COMPUTER = "dc1-s1";

function issuingCa(root: pki.CertificateAuthority, dc: string): pki.CertificateAuthority {
  const k = pki.generateKeyPair();
  const cert = pki.issueFromCsr(
    root,
    "issuing",
    pki.createCsr({ commonName: `zeroroot ${dc} issuing CA` }, k.privateKey),
    {
      nameScope: { dnsZones: [`${dc}.${ZONE}`] },
    },
  );
  return pki.loadCa(cert.certificatePem, pki.exportPkcs8(k.privateKey));
}

function softwareSigner(ca: pki.CertificateAuthority, cn: string): Signer {
  const k = pki.generateKeyPair();
  const cert = pki.issueFromCsr(ca, "software", pki.createCsr({ commonName: cn }, k.privateKey), {
    commonName: cn,
  });
  return { privateKey: k.privateKey, certificatePem: cert.certificatePem, chainPem: ca.certificatePem };
}

export interface LabHierarchy {
  readonly rootPem: string;
  readonly ca: Record<string, pki.CertificateAuthority>;
  /** Signs desired state for dc1 (trust.json: desiredState ["dc1"]). */
  readonly stateSigner: Signer;
  /** Signs releases (trust.json: releases ["*"]). */
  readonly releaseSigner: Signer;
  /** A software-signing certificate of the hierarchy that trust.json does not name. */
  readonly mallory: Signer;
  readonly computerId: IssuedIdentity;
  readonly otherComputer: IssuedIdentity;
}

export function makeHierarchy(): LabHierarchy {
  const root = pki.createRootCa({ commonName: "zeroroot agent lab root" });
  const rootPem = root.certificatePem;
  const ca = Object.fromEntries(DCS.map((dc) => [dc, issuingCa(root.ca, dc)]));
  return {
    rootPem,
    ca,
    stateSigner: softwareSigner(ca.dc1, "control-plane-dc1"),
    releaseSigner: softwareSigner(ca.dc1, "release-admin"),
    mallory: softwareSigner(ca.dc1, "mallory"),
    computerId: issueIdentity(ca.dc1, rootPem, "computer", COMPUTER),
    otherComputer: issueIdentity(ca.dc1, rootPem, "computer", "dc1-s2"),
  };
}

export interface RunningControlPlane {
  readonly cp: LabControlPlane;
  /** The computer's network namespace. */
  readonly namespace: string;
}

/** The test network and etcd in dc1-dc3, with both computers' access. */
export async function startLabControlPlane(h: LabHierarchy, stateDir: string): Promise<RunningControlPlane> {
  const net = createTestNet([...DCS, "node"]);
  const namespace = net.hosts.node.namespace;
  const plan = buildAccessPlan({
    dataCenters: DCS,
    computers: [
      { id: COMPUTER, dc: "dc1" },
      { id: "dc1-s2", dc: "dc1" },
    ],
    operators: ["alice"],
    // the timestamp service's etcd user, timestamp.dc1.<ZONE> (freshness.test.ts)
    domain: ZONE,
  });
  const cp = await startControlPlane({
    members: DCS.map((dc) => ({
      dc,
      namespace: net.hosts[dc].namespace,
      address: net.hosts[dc].address,
      dnsName: `etcd.${dc}.${ZONE}`,
    })),
    pki: { rootCertificatePem: h.rootPem, issuing: h.ca },
    plan,
    stateDir,
    clientNamespaces: [namespace],
  });
  return { cp, namespace };
}

/** etcdctl as root; retried on a deadline (a loaded 2-core machine makes etcd slow at times). */
export async function etcdctl(stateDir: string, args: string[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await rootEtcdctl(readClusterState(stateDir))(args);
    } catch (e) {
      if (attempt >= 3 || !/deadline exceeded/.test(String(e))) throw e;
    }
  }
}

export interface ReportedAlert {
  kind: string;
  instance?: string;
  detail: string;
  evidence?: Record<string, unknown>;
}

export interface ReportedStatus {
  desired: { version: number } | null;
  instances: {
    name: string;
    phase: string;
    programs: { name: string; state: string; pid: number }[];
  }[];
}

/** Every alert the agent raised, oldest first. */
export async function readAlerts(stateDir: string): Promise<ReportedAlert[]> {
  const out = await etcdctl(stateDir, ["get", "--prefix", keys.alerts(COMPUTER), "--print-value-only"]);
  return out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { kind: string; detail: string });
}

/** The agent's last status report, if any. */
export async function readStatus(stateDir: string): Promise<ReportedStatus | undefined> {
  const out = (await etcdctl(stateDir, ["get", keys.status(COMPUTER), "--print-value-only"])).trim();
  return out ? JSON.parse(out) : undefined;
}
