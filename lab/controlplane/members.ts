/**
 * The processes of control-plane members: each member's etcd command line, its launch in its
 * namespace as its own unprivileged user, its pid, and the health of every member.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { etcdctlRunner, MEMBER_CN } from "../../lib/controlplane";
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

export function launch(m: MemberState): void {
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
export function memberPid(m: MemberState): number | undefined {
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
    if (last.some((h) => !h.running)) break;
    await sleep(300);
  }
  const logs = state.members.map((m) => path.join(state.stateDir, `${m.dc}.log`)).join(", ");
  throw new Error(
    `control plane did not become healthy in ${timeoutMs} ms: ${last.map((h) => `${h.dc}: ${h.detail}`).join("; ")} (logs: ${logs})`,
  );
}
