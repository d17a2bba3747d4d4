/**
 * Partition users: the accounts service instances run as. The image pre-creates `zr-p000`…`zr-pNNN`
 * (uids 2100+), each with its own supervisord, so that the node agent never creates users (which needs
 * root) and never runs anything as root. Each partition's supervisord socket and conf.d are open to
 * its group, and zr-agent is a member of every partition group (and of no other), so the agent can
 * render and reload a partition's programs while partitions cannot reach each other.
 */
import { AGENT_USER, IMAGE_PATHS, type PlatformUser } from "./spec";

export const PARTITION_UID_BASE = 2100;
/** zr-p000 … zr-p999: three digits, uids 2100-3099. */
export const MAX_PARTITIONS = 1000;
export const PARTITION_PREFIX = "zr-p";

export const partitionName = (index: number): string =>
  `${PARTITION_PREFIX}${String(index).padStart(3, "0")}`;
export const partitionUid = (index: number): number => PARTITION_UID_BASE + index;

/** Where a partition's files are, relative to its home. */
export interface PartitionPaths {
  readonly home: string;
  readonly supervisorDir: string;
  readonly socket: string;
  readonly confD: string;
  readonly logDir: string;
  readonly pidFile: string;
  /** The agent-managed directory of the instance (configuration, TLS key and certificate, data). */
  readonly instanceDir: string;
}

export function partitionPaths(user: string, root: string = IMAGE_PATHS.usersHome): PartitionPaths {
  const home = `${root}/${user}`;
  const sup = `${home}/supervisor`;
  return {
    home,
    supervisorDir: sup,
    socket: `${sup}/supervisor.sock`,
    confD: `${sup}/conf.d`,
    logDir: `${sup}/log`,
    pidFile: `${sup}/supervisord.pid`,
    instanceDir: `${home}/instance`,
  };
}

/** The index of a pre-created partition named `user` with `uid`, or undefined when it is not one. */
export function partitionIndex(user: string, uid: number, count: number): number | undefined {
  const m = /^zr-p(\d{3})$/.exec(user);
  if (!m) return undefined;
  const i = Number(m[1]);
  return i < count && uid === partitionUid(i) ? i : undefined;
}

/**
 * Directory modes of a partition, applied by the image build. The supervisor directory is traversable
 * by the group (zr-agent reaches the socket and conf.d); conf.d and the instance directory are
 * group-writable and setgid, so files the agent writes there belong to the partition's group.
 */
export const PARTITION_DIR_MODES: readonly { readonly rel: string; readonly mode: number }[] = [
  { rel: "", mode: 0o750 },
  { rel: "supervisor", mode: 0o750 },
  { rel: "supervisor/log", mode: 0o750 },
  { rel: "supervisor/conf.d", mode: 0o2770 },
  { rel: "instance", mode: 0o2770 },
];

/** The platform users of `count` partitions, as the image spec lists them (no programs of their own). */
export function partitionUsers(count: number, root: string = IMAGE_PATHS.usersHome): PlatformUser[] {
  return Array.from({ length: count }, (_, i) => ({
    name: partitionName(i),
    uid: partitionUid(i),
    home: `${root}/${partitionName(i)}`,
    programs: [],
    partition: true,
  }));
}

/** Supplementary groups of zr-agent: one per partition (gid = uid). */
export const agentGroups = (count: number): number[] =>
  Array.from({ length: count }, (_, i) => partitionUid(i)).filter((g) => g !== AGENT_USER.uid);
