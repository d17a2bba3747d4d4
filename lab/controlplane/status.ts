/**
 * The control plane as etcd itself reports it — never as recorded: for each member, whether its
 * process runs (host /proc) and what its supervisor says, whether it answers `endpoint status` (the
 * leader it follows, its raft term), whether it is healthy (`endpoint health`: a linearizable read,
 * so it needs quorum), and the members etcd lists. Asked as etcd's root user over mutual TLS from
 * each member's own namespace.
 */
import { etcdctlRunner } from "../../lib/controlplane";
import { programState } from "../supervise";
import { readClusterState, type ClusterState, type MemberState } from "./cluster-state";
import { memberPid, memberProgram } from "./members";

export interface MemberStatus {
  readonly dc: string;
  readonly endpoint: string;
  /** Its etcd process exists (not a zombie). */
  readonly running: boolean;
  readonly pid?: number;
  /** What its supervisord says: RUNNING, STARTING, BACKOFF (restarting), FATAL (gave up), NO-SUPERVISOR… */
  readonly supervisor: string;
  /** It answered `endpoint status`. */
  readonly answers: boolean;
  /** It served a linearizable read (`endpoint health`): it is part of a quorum. */
  readonly healthy: boolean;
  readonly isLeader: boolean;
  /** The leader it follows, by member name, when it answers and knows one. */
  readonly leader?: string;
  readonly raftTerm?: number;
  /** Why it is not healthy (or "healthy"). */
  readonly detail: string;
}

export interface ControlPlaneStatus {
  /** healthy: every member healthy · degraded: quorum but a member down · down: no quorum. */
  readonly health: "healthy" | "degraded" | "down";
  /** The leader, by member name, as the members that answer agree; undefined if none or they disagree. */
  readonly leader?: string;
  /** Member names etcd lists (`member list`), when a member answered it. */
  readonly listed?: readonly string[];
  readonly members: readonly MemberStatus[];
}

/** etcd prints 64-bit ids as JSON numbers, beyond a double's precision: read them as strings. */
export function parseEtcdJson<T>(text: string): T {
  return JSON.parse(text.replace(/("(?:ID|id|member_id|leader|cluster_id)"\s*:\s*)(\d+)/g, '$1"$2"')) as T;
}

const firstLine = (e: unknown) =>
  (e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 200) || "no answer";

function runnerFor(state: ClusterState, m: MemberState, endpoint: string) {
  const run = etcdctlRunner({
    endpoints: [endpoint],
    ...state.root,
    wrapper: ["ip", "netns", "exec", m.namespace],
    timeoutMs: 8000,
  });
  // Shorter than the runner's 5 s: without quorum a health read waits for the whole timeout.
  return (args: string[]) => run([...args, "--command-timeout=2s", "--dial-timeout=1s"]);
}

interface Answer {
  readonly status?: { header: { member_id: string; raft_term: number }; leader: string };
  readonly members?: { ID: string; name: string }[];
  readonly healthy: boolean;
  readonly error?: string;
}

async function ask(run: (a: string[]) => Promise<string>): Promise<Answer> {
  let status: Answer["status"];
  try {
    const [s] = parseEtcdJson<{ Status: NonNullable<Answer["status"]> }[]>(
      await run(["endpoint", "status", "-w", "json"]),
    );
    status = s?.Status;
  } catch (e) {
    return { healthy: false, error: firstLine(e) };
  }
  const [members, health] = await Promise.all([
    run(["member", "list", "-w", "json"]).then(
      (t) => parseEtcdJson<{ members: { ID: string; name: string }[] }>(t).members,
      () => undefined,
    ),
    run(["endpoint", "health", "-w", "json"]).then(
      (t) => {
        const [h] = JSON.parse(t) as { health: boolean; error?: string }[];
        return { healthy: !!h?.health, error: h?.error };
      },
      (e: unknown) => ({ healthy: false, error: firstLine(e) }),
    ),
  ]);
  return { status, members, ...health };
}

export async function controlPlaneStatus(stateDir?: string): Promise<ControlPlaneStatus> {
  const state = readClusterState(stateDir);
  const answers = await Promise.all(
    state.members.map((m, i) => ask(runnerFor(state, m, state.endpoints[i]))),
  );
  const names = new Map<string, string>();
  for (const a of answers) for (const x of a.members ?? []) names.set(x.ID, x.name);
  const members = await Promise.all(
    state.members.map(async (m, i): Promise<MemberStatus> => {
      const a = answers[i];
      const program = memberProgram(m);
      const pid = memberPid(m);
      const leaderId = a.status?.leader;
      const known = leaderId !== undefined && leaderId !== "0";
      return {
        dc: m.dc,
        endpoint: state.endpoints[i],
        running: pid !== undefined,
        pid,
        supervisor: (await programState(program.dir, program.name)).state,
        answers: a.status !== undefined,
        healthy: a.healthy,
        isLeader: known && a.status?.header.member_id === leaderId,
        leader: known ? (names.get(leaderId) ?? leaderId) : undefined,
        raftTerm: a.status?.header.raft_term,
        detail: a.healthy
          ? "healthy"
          : pid === undefined
            ? `not running (log: ${program.logFile})`
            : (a.error ?? "unhealthy"),
      };
    }),
  );
  const healthy = members.filter((m) => m.healthy).length;
  const quorum = healthy > members.length / 2;
  const leaders = new Set(members.filter((m) => m.healthy && m.leader).map((m) => m.leader));
  return {
    health: !quorum ? "down" : healthy === members.length ? "healthy" : "degraded",
    leader: quorum && leaders.size === 1 ? [...leaders][0] : undefined,
    listed: names.size > 0 ? [...names.values()].sort() : undefined,
    members,
  };
}
