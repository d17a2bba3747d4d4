/**
 * The lab's control plane: a 3-member etcd cluster, one member in each data center's management
 * namespace, each member running as its own unprivileged user (setpriv, no capabilities, no new
 * privileges), peer and client traffic mutual TLS with certificates from the data centers' issuing
 * CAs, then the access plan applied and authentication enabled.
 *
 * Everything needed to stop or restart a member is written to `<stateDir>/cluster.json`, so a later
 * process (`zeroroot lab down`, a test) can act on a cluster an earlier one started.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  applyAccessPlan,
  etcdctlRunner,
  MEMBER_CN,
  ROOT_USER,
  type AccessPlan,
  type ApplyResult,
  type EtcdctlRunner,
} from "../../lib/controlplane";
import type { CertificateAuthority } from "../../lib/pki";
import {
  DEFAULT_STATE_DIR,
  memberOf,
  readClusterState,
  stateFile,
  type ClusterState,
  type MemberLayout,
  type MemberState,
} from "./cluster-state";
import { issueIdentity, writeIdentity, type IdentityFiles } from "./identity";
import { writeHostsEntries } from "./hosts";
import {
  killMember,
  launch,
  memberArgv,
  memberPid,
  memberProgram,
  waitHealthy,
  type MemberFiles,
} from "./members";
import { shutdownSupervisor, stopProgram } from "../supervise";
import { etcdRevocationList, writeEtcdRevocationList, type EtcdRevocationList } from "./revocation";

export { DEFAULT_STATE_DIR, readClusterState, type ClusterState, type MemberLayout } from "./cluster-state";
export { controlPlaneHealth, type MemberHealth } from "./members";

export interface LabPki {
  /** The platform root certificate: the only trust anchor of members and clients. */
  readonly rootCertificatePem: string;
  /**
   * Each data center's issuing CA (certificate and key), by data center id: it certifies that data
   * center's member, and the root user is certified by the first member's. These CAs must be allowed
   * to issue service and user certificates (the ceremony's offline CAs are; a site's online CA is not).
   */
  readonly issuing: Readonly<Record<string, CertificateAuthority>>;
  /**
   * Certificates (PEM) of further issuing CAs whose certificates reach etcd, e.g. the sites' online
   * CAs that certify computers: their CRLs count too. @default []
   */
  readonly otherIssuers?: readonly string[];
  /** CRLs (PEM) of the root and of the issuing CAs; etcd refuses every certificate they revoke. @default [] */
  readonly crls?: readonly string[];
}

export interface ControlPlaneLabOptions {
  readonly members: readonly MemberLayout[];
  readonly pki: LabPki;
  readonly plan: AccessPlan;
  /** Where data, certificates, logs and cluster.json live. @default "/var/lib/zeroroot-lab/controlplane" */
  readonly stateDir?: string;
  /** Member k (0-based) runs as uid = gid = uidBase + k. @default 2010 */
  readonly uidBase?: number;
  /** @default 2379 */
  readonly clientPort?: number;
  /** @default 2380 */
  readonly peerPort?: number;
  /** Extra namespaces whose /etc/netns/<ns>/hosts get the members' names (the members' own always do). @default [] */
  readonly clientNamespaces?: readonly string[];
  /** How long to wait for the cluster to become healthy. @default 30000 */
  readonly startTimeoutMs?: number;
}

export interface LabControlPlane extends ClusterState {
  readonly applied: ApplyResult;
}

function validate(opts: ControlPlaneLabOptions): void {
  const errs: string[] = [];
  if (opts.members.length === 0) errs.push("members: empty; give one member per data center");
  const seen = new Set<string>();
  opts.members.forEach((m, i) => {
    if (seen.has(m.dc)) errs.push(`members[${i}].dc: "${m.dc}" appears twice`);
    seen.add(m.dc);
    if (!opts.pki.issuing[m.dc])
      errs.push(
        `members[${i}].dc: no issuing CA for "${m.dc}" in pki.issuing (have: ${Object.keys(opts.pki.issuing).join(", ")})`,
      );
    if (!/^[a-z0-9.-]+$/.test(m.dnsName) || /^[\d.]+$/.test(m.dnsName))
      errs.push(`members[${i}].dnsName: "${m.dnsName}" must be a DNS name, not an IP`);
  });
  if (errs.length) throw new Error(`control-plane lab options are invalid:\n  - ${errs.join("\n  - ")}`);
}

/** Starts (or restarts) every member, waits for health, applies the plan and enables auth. Idempotent. */
export async function startControlPlane(opts: ControlPlaneLabOptions): Promise<LabControlPlane> {
  validate(opts);
  const stateDir = path.resolve(opts.stateDir ?? DEFAULT_STATE_DIR);
  const clientPort = opts.clientPort ?? 2379;
  const peerPort = opts.peerPort ?? 2380;
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o711 });
  fs.chmodSync(stateDir, 0o711); // members traverse it to reach their own 0700 directories
  const trustAnchorFile = path.join(stateDir, "root-ca.pem");
  fs.writeFileSync(trustAnchorFile, opts.pki.rootCertificatePem, { mode: 0o644 });
  const files: MemberFiles = {
    trustAnchor: trustAnchorFile,
    peerAnchors: path.join(stateDir, "peer-ca.pem"),
    revocationList: revocationListFile(stateDir),
  };
  fs.writeFileSync(
    files.peerAnchors,
    Object.values(opts.pki.issuing)
      .map((c) => c.certificatePem)
      .join(""),
    {
      mode: 0o644,
    },
  );
  const revocation = { caPems: knownCas(opts.pki, opts.pki.otherIssuers), crlPems: opts.pki.crls ?? [] };
  writeEtcdRevocationList(files.revocationList, etcdRevocationList(revocation));
  writeHostsEntries(
    [...new Set([...opts.members.map((m) => m.namespace), ...(opts.clientNamespaces ?? [])])],
    opts.members.map((m) => ({ address: m.address, name: m.dnsName })),
  );

  const members: MemberState[] = opts.members.map((m, k) =>
    prepareMember(opts, m, k, stateDir, files, clientPort, peerPort),
  );
  const endpoints = members.map((m) => `https://${m.dnsName}:${clientPort}`);
  const root = rootIdentity(path.join(stateDir, "root-identity"), opts.pki, members[0].dc);
  const state: ClusterState = {
    stateDir,
    endpoints,
    members,
    root,
    trustAnchorFile,
    issuers: revocation.caPems,
  };
  fs.writeFileSync(stateFile(stateDir), JSON.stringify(state, null, 2), { mode: 0o600 });

  for (const m of members) await launch(m);
  await waitHealthy(state, opts.startTimeoutMs ?? 30_000);
  const applied = await applyAccessPlan(opts.plan, rootEtcdctl(state));
  return { ...state, applied };
}

/** A member's directories and certificate (issued once, kept across restarts), owned by its own uid. */
function prepareMember(
  opts: ControlPlaneLabOptions,
  m: MemberLayout,
  k: number,
  stateDir: string,
  files: MemberFiles,
  clientPort: number,
  peerPort: number,
): MemberState {
  const uid = (opts.uidBase ?? 2010) + k;
  const dir = path.join(stateDir, m.dc);
  fs.mkdirSync(path.join(dir, "data"), { recursive: true });
  if (!fs.existsSync(path.join(dir, "tls", "key.pem"))) {
    const id = issueIdentity(opts.pki.issuing[m.dc], opts.pki.rootCertificatePem, "service", MEMBER_CN, {
      dnsNames: [m.dnsName],
    });
    writeIdentity(path.join(dir, "tls"), id, { uid, gid: uid });
  }
  for (const p of [dir, path.join(dir, "data"), path.join(dir, "tls")]) {
    fs.chownSync(p, uid, uid);
    fs.chmodSync(p, 0o700);
  }
  return { ...m, uid, dir, argv: memberArgv(m, opts.members, dir, files, clientPort, peerPort) };
}

const revocationListFile = (stateDir: string): string => path.join(stateDir, "revoked.crl");

/** The CAs whose CRLs etcd's list is built from: the root, the members' issuing CAs, and the others given. */
function knownCas(pki: LabPki, others: readonly string[] = []): string[] {
  return [pki.rootCertificatePem, ...Object.values(pki.issuing).map((c) => c.certificatePem), ...others];
}

/**
 * Publishes new CRLs to etcd: rewrites its revocation list, which refuses new connections of a revoked
 * certificate at once, then (unless `keepOpenConnections`) restarts the members one at a time, waiting
 * for each to be healthy, because etcd keeps connections opened before the revocation. Quorum holds
 * throughout (one member of three is down at a time). `crls` replaces the previous set: give every
 * CA's current CRL; `otherIssuers` are CAs beyond those the cluster was started with (sites' online
 * CAs) whose CRLs count. Returns the list written.
 */
export async function publishRevocations(
  input: { readonly crls: readonly string[]; readonly otherIssuers?: readonly string[] },
  opts: {
    readonly stateDir?: string;
    readonly keepOpenConnections?: boolean;
    readonly timeoutMs?: number;
  } = {},
): Promise<EtcdRevocationList> {
  const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
  const state = readClusterState(stateDir);
  if (!Array.isArray(state.issuers))
    throw new Error(
      `${stateDir}: this control plane was started without revocation lists (an older zeroroot); run \`zeroroot lab down\` then \`zeroroot lab up\``,
    );
  const caPems = [...state.issuers, ...(input.otherIssuers ?? [])];
  const list = etcdRevocationList({ caPems, crlPems: input.crls });
  writeEtcdRevocationList(revocationListFile(stateDir), list);
  if (!opts.keepOpenConnections)
    for (const m of state.members) {
      await stopMember(m.dc, stateDir);
      await startMember(m.dc, stateDir, opts.timeoutMs);
    }
  return list;
}

/** The root identity (CN=root) that applies the access plan: issued once, then reused. */
function rootIdentity(rootDir: string, pki: LabPki, dc: string): IdentityFiles {
  const root: IdentityFiles = fs.existsSync(path.join(rootDir, "key.pem"))
    ? {
        caFile: path.join(rootDir, "ca.pem"),
        certFile: path.join(rootDir, "cert.pem"),
        keyFile: path.join(rootDir, "key.pem"),
      }
    : writeIdentity(rootDir, issueIdentity(pki.issuing[dc], pki.rootCertificatePem, "user", ROOT_USER));
  fs.chmodSync(rootDir, 0o700);
  return root;
}

/** An etcdctl runner authenticated as root (client certificate), run inside the first live member's namespace. */
export function rootEtcdctl(state: ClusterState, viaDc?: string): EtcdctlRunner {
  const via =
    state.members.find((m) => m.dc === viaDc) ?? state.members.find((m) => memberPid(m)) ?? state.members[0];
  return etcdctlRunner({
    endpoints: state.endpoints,
    ...state.root,
    wrapper: ["ip", "netns", "exec", via.namespace],
  });
}

/**
 * Stops one member through its supervisor, which then leaves it stopped (SIGTERM, SIGKILL after
 * 10 s). Its data stays; startMember brings it back.
 */
export async function stopMember(dc: string, stateDir: string = DEFAULT_STATE_DIR): Promise<void> {
  const m = memberOf(readClusterState(stateDir), dc);
  const program = memberProgram(m);
  await stopProgram(program.dir, program.name);
  await killMember(m); // one no supervisor knows of (an older lab, a supervisor gone)
}

/** Starts one stopped member on its existing data and waits until it is healthy. */
export async function startMember(
  dc: string,
  stateDir: string = DEFAULT_STATE_DIR,
  timeoutMs = 30_000,
): Promise<void> {
  const state = readClusterState(stateDir);
  const m = memberOf(state, dc);
  await launch(m);
  await waitHealthy(state, timeoutMs, [dc]);
}

/** Starts every stopped member and waits until all are healthy (after a whole outage: quorum needs two). */
export async function startAllMembers(
  stateDir: string = DEFAULT_STATE_DIR,
  timeoutMs = 30_000,
): Promise<void> {
  const state = readClusterState(stateDir);
  for (const m of state.members) await launch(m);
  await waitHealthy(state, timeoutMs);
}

/** Stops every member and its supervisor; with `removeState` also deletes data, certificates and keys. */
export async function stopControlPlane(
  stateDir: string = DEFAULT_STATE_DIR,
  opts: { readonly removeState?: boolean } = {},
): Promise<void> {
  if (!fs.existsSync(stateFile(stateDir))) return;
  const state = readClusterState(stateDir);
  await Promise.all(
    state.members.map(async (m) => {
      await shutdownSupervisor(memberProgram(m).dir);
      await killMember(m);
    }),
  );
  if (opts.removeState) fs.rmSync(stateDir, { recursive: true, force: true });
}
