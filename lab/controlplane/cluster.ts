/**
 * The lab's control plane: a 3-member etcd cluster, one member in each data center's management
 * namespace, each member running as its own unprivileged user (setpriv, no capabilities, no new
 * privileges), peer and client traffic mutual TLS with certificates from the data centers' issuing
 * CAs, then the access plan applied and authentication enabled.
 *
 * Everything needed to stop or restart a member is written to `<stateDir>/cluster.json`, so a later
 * process (`zeroroot lab down`, a test) can act on a cluster an earlier one started.
 */
import { spawn } from "node:child_process";
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
import { issueIdentity, writeIdentity, type IdentityFiles } from "./identity";
import { writeHostsEntries } from "./hosts";

export interface MemberLayout {
  /** Data center id; also the etcd member name. */
  readonly dc: string;
  /** Network namespace the member runs in (the data center's management namespace). */
  readonly namespace: string;
  /** Address the member listens on inside its namespace. */
  readonly address: string;
  /** DNS name clients and peers use; carried by the member's certificate. Must be inside the DC's CA scope. */
  readonly dnsName: string;
}

export interface LabPki {
  /** The platform root certificate: the only trust anchor of members and clients. */
  readonly rootCertificatePem: string;
  /** Each data center's issuing CA (certificate and key), by data center id. */
  readonly issuing: Readonly<Record<string, CertificateAuthority>>;
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

interface MemberState extends MemberLayout {
  readonly uid: number;
  readonly dir: string;
  readonly argv: readonly string[];
}

export interface ClusterState {
  readonly stateDir: string;
  readonly endpoints: readonly string[];
  readonly members: readonly MemberState[];
  /** The root identity (CN=root), used only to apply the plan. Key file mode 0400, owned by root. */
  readonly root: IdentityFiles;
  readonly trustAnchorFile: string;
}

export interface LabControlPlane extends ClusterState {
  readonly applied: ApplyResult;
}

export const DEFAULT_STATE_DIR = "/var/lib/zeroroot-lab/controlplane";

const stateFile = (stateDir: string): string => path.join(stateDir, "cluster.json");

export function readClusterState(stateDir: string = DEFAULT_STATE_DIR): ClusterState {
  const f = stateFile(stateDir);
  if (!fs.existsSync(f))
    throw new Error(
      `${f}: no control plane was started with this state directory; run startControlPlane (zeroroot lab up) first`,
    );
  return JSON.parse(fs.readFileSync(f, "utf8")) as ClusterState;
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

function memberArgv(
  m: MemberLayout,
  all: readonly MemberLayout[],
  dir: string,
  trustAnchorFile: string,
  clientPort: number,
  peerPort: number,
): string[] {
  const cert = path.join(dir, "tls", "cert.pem");
  const key = path.join(dir, "tls", "key.pem");
  return [
    "etcd",
    `--name=${m.dc}`,
    `--data-dir=${path.join(dir, "data")}`,
    `--listen-client-urls=https://${m.address}:${clientPort}`,
    `--advertise-client-urls=https://${m.dnsName}:${clientPort}`,
    `--listen-peer-urls=https://${m.address}:${peerPort}`,
    `--initial-advertise-peer-urls=https://${m.dnsName}:${peerPort}`,
    `--initial-cluster=${all.map((o) => `${o.dc}=https://${o.dnsName}:${peerPort}`).join(",")}`,
    "--initial-cluster-token=zeroroot-controlplane",
    "--initial-cluster-state=new",
    "--client-cert-auth",
    `--trusted-ca-file=${trustAnchorFile}`,
    `--cert-file=${cert}`,
    `--key-file=${key}`,
    "--peer-client-cert-auth",
    `--peer-trusted-ca-file=${trustAnchorFile}`,
    `--peer-cert-file=${cert}`,
    `--peer-key-file=${key}`,
    `--peer-cert-allowed-cn=${MEMBER_CN}`,
    "--auto-compaction-mode=periodic",
    "--auto-compaction-retention=1h",
    "--logger=zap",
    "--log-outputs=stderr",
  ];
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
  writeHostsEntries(
    [...new Set([...opts.members.map((m) => m.namespace), ...(opts.clientNamespaces ?? [])])],
    opts.members.map((m) => ({ address: m.address, name: m.dnsName })),
  );

  const members: MemberState[] = opts.members.map((m, k) => {
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
    return { ...m, uid, dir, argv: memberArgv(m, opts.members, dir, trustAnchorFile, clientPort, peerPort) };
  });
  const endpoints = members.map((m) => `https://${m.dnsName}:${clientPort}`);
  const rootDir = path.join(stateDir, "root-identity");
  const root: IdentityFiles = fs.existsSync(path.join(rootDir, "key.pem"))
    ? {
        caFile: path.join(rootDir, "ca.pem"),
        certFile: path.join(rootDir, "cert.pem"),
        keyFile: path.join(rootDir, "key.pem"),
      }
    : writeIdentity(
        rootDir,
        issueIdentity(opts.pki.issuing[members[0].dc], opts.pki.rootCertificatePem, "user", ROOT_USER),
      );
  fs.chmodSync(rootDir, 0o700);
  const state: ClusterState = { stateDir, endpoints, members, root, trustAnchorFile };
  fs.writeFileSync(stateFile(stateDir), JSON.stringify(state, null, 2), { mode: 0o600 });

  for (const m of members) if (!memberPid(m)) launch(m);
  await waitHealthy(state, opts.startTimeoutMs ?? 30_000);
  const applied = await applyAccessPlan(opts.plan, rootEtcdctl(state));
  return { ...state, applied };
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

function launch(m: MemberState): void {
  const log = fs.openSync(path.join(path.dirname(m.dir), `${m.dc}.log`), "a", 0o640);
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      m.namespace,
      "setpriv",
      `--reuid=${m.uid}`,
      `--regid=${m.uid}`,
      "--clear-groups",
      "--no-new-privs",
      "--inh-caps=-all",
      "--bounding-set=-all",
      "--",
      ...m.argv,
    ],
    {
      detached: true,
      stdio: ["ignore", log, log],
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: m.dir },
    },
  );
  fs.closeSync(log);
  if (child.pid === undefined)
    throw new Error(`member ${m.dc}: could not start etcd (ip netns exec ${m.namespace} …)`);
  fs.writeFileSync(path.join(path.dirname(m.dir), `${m.dc}.pid`), String(child.pid));
  child.unref();
}

/** The pid of a running member (ip netns exec and setpriv exec, so it is etcd's own pid), or undefined. */
function memberPid(m: MemberState): number | undefined {
  const f = path.join(path.dirname(m.dir), `${m.dc}.pid`);
  if (!fs.existsSync(f)) return undefined;
  const pid = Number(fs.readFileSync(f, "utf8"));
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    if (/\) Z /.test(stat)) return undefined;
    return cmd.includes(`--data-dir=${path.join(m.dir, "data")}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface MemberHealth {
  readonly dc: string;
  readonly running: boolean;
  readonly pid?: number;
  readonly uid: number;
  readonly healthy: boolean;
  readonly detail: string;
}

/** Process and `etcdctl endpoint health` (as root, over mutual TLS) of every member. */
export async function controlPlaneHealth(stateDir: string = DEFAULT_STATE_DIR): Promise<MemberHealth[]> {
  const state = readClusterState(stateDir);
  return Promise.all(
    state.members.map(async (m, i): Promise<MemberHealth> => {
      const pid = memberPid(m);
      if (!pid) return { dc: m.dc, running: false, uid: m.uid, healthy: false, detail: "not running" };
      const run = etcdctlRunner({
        endpoints: [state.endpoints[i]],
        ...state.root,
        wrapper: ["ip", "netns", "exec", m.namespace],
      });
      try {
        const out = await run(["endpoint", "health", "-w", "json"]);
        const [h] = JSON.parse(out) as { health: boolean; error?: string }[];
        return {
          dc: m.dc,
          running: true,
          pid,
          uid: m.uid,
          healthy: !!h?.health,
          detail: h?.error ?? "healthy",
        };
      } catch (e) {
        return { dc: m.dc, running: true, pid, uid: m.uid, healthy: false, detail: (e as Error).message };
      }
    }),
  );
}

async function waitHealthy(state: ClusterState, timeoutMs: number, dcs?: readonly string[]): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: MemberHealth[] = [];
  while (Date.now() < end) {
    last = (await controlPlaneHealth(state.stateDir)).filter((h) => !dcs || dcs.includes(h.dc));
    if (last.every((h) => h.healthy)) return;
    if (last.some((h) => !h.running)) break;
    await sleep(300);
  }
  const logs = state.members.map((m) => path.join(state.stateDir, `${m.dc}.log`)).join(", ");
  throw new Error(
    `control plane did not become healthy in ${timeoutMs} ms: ${last.map((h) => `${h.dc}: ${h.detail}`).join("; ")} (logs: ${logs})`,
  );
}

/** Stops one member (SIGTERM, then SIGKILL after 10 s). Its data stays; startMember brings it back. */
export async function stopMember(dc: string, stateDir: string = DEFAULT_STATE_DIR): Promise<void> {
  const m = memberOf(readClusterState(stateDir), dc);
  const pid = memberPid(m);
  if (!pid) return;
  process.kill(pid, "SIGTERM");
  const end = Date.now() + 10_000;
  while (memberPid(m) && Date.now() < end) await sleep(100);
  if (memberPid(m)) process.kill(pid, "SIGKILL");
  while (memberPid(m)) await sleep(50);
}

/** Starts one stopped member on its existing data and waits until it is healthy. */
export async function startMember(
  dc: string,
  stateDir: string = DEFAULT_STATE_DIR,
  timeoutMs = 30_000,
): Promise<void> {
  const state = readClusterState(stateDir);
  const m = memberOf(state, dc);
  if (!memberPid(m)) launch(m);
  await waitHealthy(state, timeoutMs, [dc]);
}

/** Starts every stopped member and waits until all are healthy (after a whole outage: quorum needs two). */
export async function startAllMembers(
  stateDir: string = DEFAULT_STATE_DIR,
  timeoutMs = 30_000,
): Promise<void> {
  const state = readClusterState(stateDir);
  for (const m of state.members) if (!memberPid(m)) launch(m);
  await waitHealthy(state, timeoutMs);
}

/** Stops every member; with `removeState` also deletes data, certificates and keys. */
export async function stopControlPlane(
  stateDir: string = DEFAULT_STATE_DIR,
  opts: { readonly removeState?: boolean } = {},
): Promise<void> {
  if (!fs.existsSync(stateFile(stateDir))) return;
  const state = readClusterState(stateDir);
  await Promise.all(state.members.map((m) => stopMember(m.dc, stateDir)));
  if (opts.removeState) fs.rmSync(stateDir, { recursive: true, force: true });
}

function memberOf(state: ClusterState, dc: string): MemberState {
  const m = state.members.find((x) => x.dc === dc);
  if (!m)
    throw new Error(
      `no control-plane member for data center "${dc}"; members: ${state.members.map((x) => x.dc).join(", ")}`,
    );
  return m;
}
