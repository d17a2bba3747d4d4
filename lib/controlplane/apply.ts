/**
 * Brings a running etcd's users, roles and permissions to an AccessPlan, idempotently: reads what is
 * there, changes only what differs, removes users and roles the plan does not name (the plan is the
 * whole truth), and enables authentication last. Runs etcdctl as the `root` identity: a client
 * certificate with CN=root, never a password. etcdctl rather than the etcd3 npm client because only
 * etcdctl can create a user with no password at all (`user add --no-password`).
 */
import { execFile } from "node:child_process";
import { ApplyError } from "./errors";
import { prefixEnd } from "./keys";
import { grantArgs, ROOT_USER, type AccessPlan, type Permission, type PermissionType } from "./plan";

/** Runs `etcdctl <args>` against the cluster and returns its stdout; rejects with stderr on failure. */
export type EtcdctlRunner = (args: readonly string[]) => Promise<string>;

export interface EtcdctlOptions {
  /** Client URLs, e.g. ["https://etcd.dc1.zeroroot.example:2379"]. */
  readonly endpoints: readonly string[];
  /** PEM files of the trust anchor (platform root), the client certificate chain and its key. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Words put before `etcdctl`, e.g. ["ip", "netns", "exec", "zr-dc1-mgmt"]. @default - none */
  readonly wrapper?: readonly string[];
  /** @default 10000 */
  readonly timeoutMs?: number;
}

/** An EtcdctlRunner over the etcdctl binary (API v3), authenticating with a client certificate only. */
export function etcdctlRunner(opts: EtcdctlOptions): EtcdctlRunner {
  const base = [
    "etcdctl",
    `--endpoints=${opts.endpoints.join(",")}`,
    `--cacert=${opts.caFile}`,
    `--cert=${opts.certFile}`,
    `--key=${opts.keyFile}`,
    "--command-timeout=5s",
    "--dial-timeout=3s",
  ];
  const argv0 = [...(opts.wrapper ?? []), ...base];
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(
        argv0[0],
        [...argv0.slice(1), ...args],
        { timeout: opts.timeoutMs ?? 10_000, env: { ...process.env, ETCDCTL_API: "3" } },
        (err, stdout, stderr) => {
          if (err) {
            const msg =
              String(stderr)
                .split("\n")
                .filter((l) => l.startsWith("Error:"))
                .join(" ") ||
              String(stderr).trim() ||
              err.message;
            reject(new Error(msg));
          } else resolve(String(stdout));
        },
      );
    });
}

export interface ApplyChange {
  readonly action: string;
  readonly target: string;
}

export interface ApplyResult {
  readonly changes: readonly ApplyChange[];
}

interface LivePerm {
  readonly type: PermissionType;
  readonly key: string;
  readonly rangeEnd: string;
}

const PERM_TYPES: Record<number, PermissionType> = { 0: "read", 1: "write", 2: "readwrite" };

const b64 = (v: string | undefined): string => (v ? Buffer.from(v, "base64").toString("latin1") : "");

function parseJson<T>(out: string, step: string): T {
  try {
    return JSON.parse(out) as T;
  } catch {
    throw new ApplyError(step, `etcdctl printed something that is not JSON: ${out.slice(0, 200)}`);
  }
}

/** The end of the key range a planned permission covers ("" for a single key, as etcd reports it). */
const rangeEndOf = (p: Permission): string => (p.prefix ? prefixEnd(p.key) : "");

export async function applyAccessPlan(
  plan: AccessPlan,
  etcdctl: EtcdctlRunner,
  opts: { readonly prune?: boolean } = {},
): Promise<ApplyResult> {
  const prune = opts.prune ?? true;
  const changes: ApplyChange[] = [];
  const run = async (step: string, args: string[]): Promise<string> => {
    try {
      return await etcdctl(args);
    } catch (e) {
      throw new ApplyError(step, (e as Error).message);
    }
  };
  const change = async (action: string, target: string, args: string[]): Promise<void> => {
    await run(`${action} ${target}`, args);
    changes.push({ action, target });
  };

  const liveRoles = new Set(
    parseJson<{ roles?: string[] }>(await run("role list", ["role", "list", "-w", "json"]), "role list")
      .roles ?? [],
  );
  for (const role of plan.roles) {
    if (!liveRoles.has(role.name)) await change("add role", role.name, ["role", "add", role.name]);
    if (role.name === ROOT_USER) continue; // etcd's built-in root role carries no explicit permissions
    const live: LivePerm[] = liveRoles.has(role.name)
      ? (
          parseJson<{ perm?: { permType?: number; key?: string; range_end?: string }[] }>(
            await run(`role get ${role.name}`, ["role", "get", role.name, "-w", "json"]),
            "role get",
          ).perm ?? []
        ).map((p) => ({ type: PERM_TYPES[p.permType ?? 0], key: b64(p.key), rangeEnd: b64(p.range_end) }))
      : [];
    for (const p of role.permissions) {
      const have = live.find((l) => l.key === p.key && l.rangeEnd === rangeEndOf(p));
      if (!have || have.type !== p.type)
        await change(
          "grant",
          `${role.name} ${p.type} ${p.key}${p.prefix ? "*" : ""}`,
          grantArgs(role.name, p),
        );
    }
    for (const l of live) {
      if (!role.permissions.some((p) => l.key === p.key && l.rangeEnd === rangeEndOf(p))) {
        await change("revoke", `${role.name} ${l.key}..${l.rangeEnd}`, [
          "role",
          "revoke-permission",
          role.name,
          l.key,
          ...(l.rangeEnd ? [l.rangeEnd] : []),
        ]);
      }
    }
  }

  const liveUsers = new Set(
    parseJson<{ users?: string[] }>(await run("user list", ["user", "list", "-w", "json"]), "user list")
      .users ?? [],
  );
  for (const user of plan.users) {
    if (!liveUsers.has(user.name))
      await change("add user", user.name, ["user", "add", user.name, "--no-password"]);
    const have = liveUsers.has(user.name)
      ? (parseJson<{ roles?: string[] }>(
          await run(`user get ${user.name}`, ["user", "get", user.name, "-w", "json"]),
          "user get",
        ).roles ?? [])
      : [];
    for (const r of user.roles)
      if (!have.includes(r))
        await change("grant role", `${user.name} ${r}`, ["user", "grant-role", user.name, r]);
    for (const r of have)
      if (!user.roles.includes(r))
        await change("revoke role", `${user.name} ${r}`, ["user", "revoke-role", user.name, r]);
  }
  if (prune) {
    for (const u of liveUsers)
      if (!plan.users.some((x) => x.name === u)) await change("delete user", u, ["user", "delete", u]);
    for (const r of liveRoles)
      if (!plan.roles.some((x) => x.name === r)) await change("delete role", r, ["role", "delete", r]);
  }
  await run("auth enable", ["auth", "enable"]);
  return { changes };
}
