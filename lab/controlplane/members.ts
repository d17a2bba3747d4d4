/**
 * The processes of control-plane members: each member's etcd command line, its launch in its
 * namespace as its own unprivileged user under its own supervisord (lab/supervise), its pid, and the
 * health of every member.
 */
import * as path from "node:path";
import { etcdctlRunner, MEMBER_CN } from "../../lib/controlplane";
import {
  ensureSupervised,
  findProcesses,
  programState,
  startProgram,
  supervisorPid,
  type SupervisedProgram,
} from "../supervise";
import {
  DEFAULT_STATE_DIR,
  readClusterState,
  type ClusterState,
  type MemberLayout,
  type MemberState,
} from "./cluster-state";

/** Files every member reads, shared by all members of the cluster. */
export interface MemberFiles {
  /** The platform root: the trust anchor for clients. */
  readonly trustAnchor: string;
  /**
   * The issuing CAs that certify members, and only those: the trust anchors of the peer port, so that a
   * CA which issues no member (a site's online CA) cannot certify a peer, whatever CN it writes.
   */
  readonly peerAnchors: string;
  /** etcd's revocation list (revocation.ts), read at every handshake on both ports. */
  readonly revocationList: string;
}

export function memberArgv(
  m: MemberLayout,
  all: readonly MemberLayout[],
  dir: string,
  files: MemberFiles,
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
    `--trusted-ca-file=${files.trustAnchor}`,
    `--client-crl-file=${files.revocationList}`,
    `--cert-file=${cert}`,
    `--key-file=${key}`,
    "--peer-client-cert-auth",
    `--peer-trusted-ca-file=${files.peerAnchors}`,
    `--peer-crl-file=${files.revocationList}`,
    `--peer-cert-file=${cert}`,
    `--peer-key-file=${key}`,
    `--peer-cert-allowed-cn=${MEMBER_CN}`,
    "--auto-compaction-mode=periodic",
    "--auto-compaction-retention=1h",
    "--logger=zap",
    "--log-outputs=stderr",
  ];
}

/** The member's supervisord: its folder (inside the member's own 0700 folder) and its program. */
export function memberProgram(m: MemberState): SupervisedProgram {
  return {
    name: `etcd-${m.dc}`,
    dir: path.join(m.dir, "supervisor"),
    uid: m.uid,
    namespace: m.namespace,
    argv: m.argv,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: m.dir, LANG: "C.UTF-8" },
    logFile: path.join(path.dirname(m.dir), `${m.dc}.log`),
    cwd: m.dir,
    // etcd on existing data is up in well under a second; one that exits within 3 s failed to start.
    startSecs: 3,
    startRetries: 5,
  };
}

/**
 * Runs a member under its supervisord (started as the member's uid, no capabilities, in its
 * namespace), which restarts it whenever it dies; starts it again if it was stopped or gave up.
 */
export async function launch(m: MemberState): Promise<void> {
  const program = memberProgram(m);
  // A member started before supervision (an older lab) holds the ports: stop it, keep its data.
  if (!supervisorPid(program.dir)) await killMember(m);
  await ensureSupervised(program);
  const st = await programState(program.dir, program.name);
  if (!["RUNNING", "STARTING", "BACKOFF"].includes(st.state)) await startProgram(program.dir, program.name);
}

/** Stops a member's etcd by signal (SIGTERM, SIGKILL after 10 s), whoever started it. */
export async function killMember(m: MemberState): Promise<void> {
  const pid = memberPid(m);
  if (!pid) return;
  process.kill(pid, "SIGTERM");
  const end = Date.now() + 10_000;
  while (memberPid(m) && Date.now() < end) await sleep(100);
  if (memberPid(m)) process.kill(pid, "SIGKILL");
  while (memberPid(m)) await sleep(50);
}

/** The pid of the running etcd of a member (read from /proc: a restart gives it a new pid), or undefined. */
export function memberPid(m: MemberState): number | undefined {
  return findProcesses([`--data-dir=${path.join(m.dir, "data")}`])[0];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

export async function waitHealthy(
  state: ClusterState,
  timeoutMs: number,
  dcs?: readonly string[],
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: MemberHealth[] = [];
  while (Date.now() < end) {
    last = (await controlPlaneHealth(state.stateDir)).filter((h) => !dcs || dcs.includes(h.dc));
    if (last.every((h) => h.healthy)) return;
    // A member between two starts is not running for a moment; one its supervisor gave up on stays so.
    const gaveUp = await Promise.all(
      state.members
        .filter((m) => last.some((h) => h.dc === m.dc && !h.running))
        .map(async (m) => (await programState(memberProgram(m).dir, memberProgram(m).name)).state),
    );
    if (gaveUp.some((s) => s === "FATAL" || s === "STOPPED" || s === "NO-SUPERVISOR")) break;
    await sleep(300);
  }
  const logs = state.members.map((m) => path.join(state.stateDir, `${m.dc}.log`)).join(", ");
  throw new Error(
    `control plane did not become healthy in ${timeoutMs} ms: ${last.map((h) => `${h.dc}: ${h.detail}`).join("; ")} (logs: ${logs})`,
  );
}
