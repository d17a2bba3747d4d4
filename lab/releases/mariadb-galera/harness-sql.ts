/**
 * What the Galera harness (lab/releases/mariadb-galera/harness.ts) asks a member's mariadbd: SQL as
 * its administrator (the partition user `nobody`, over the unix socket; no password exists), its
 * Galera state, and a wait until the members are Synced.
 */
import { spawnSync } from "node:child_process";

/** Runs SQL on the mariadbd at `socket` as its administrator. */
export function adminSql(socket: string, sql: string): { ok: boolean; out: string } {
  const r = spawnSync(
    "setpriv",
    [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "mariadb",
      "--no-defaults",
      "--protocol=socket",
      `--socket=${socket}`,
      "--user=nobody",
      "-N",
      "-B",
    ],
    { input: sql, encoding: "utf8", timeout: 30_000 },
  );
  return { ok: r.status === 0, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

/** wsrep_local_state_comment and wsrep_cluster_size of the mariadbd at `socket`, or undefined when it does not answer. */
export function galeraState(socket: string): { state: string; size: number } | undefined {
  const r = adminSql(
    socket,
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment','wsrep_cluster_size');",
  );
  if (!r.ok) return undefined;
  const kv = Object.fromEntries(
    r.out
      .trim()
      .split("\n")
      .map((l) => l.split("\t")),
  );
  return { state: kv.wsrep_local_state_comment ?? "?", size: Number(kv.wsrep_cluster_size ?? 0) };
}

/**
 * Waits until every member in `which` is Synced in a cluster of `size` (`stateOf` asks member i);
 * returns the seconds it took.
 */
export async function waitSynced(
  stateOf: (i: number) => { state: string; size: number } | undefined,
  which: number[],
  size: number,
  timeoutMs: number,
): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (
      which.every((i) => {
        const s = stateOf(i);
        return s?.state === "Synced" && s.size === size;
      })
    )
      return (Date.now() - t0) / 1000;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `members ${which.join(",")} not Synced in a cluster of ${size} after ${timeoutMs / 1000} s: ${JSON.stringify(which.map((i) => stateOf(i)))}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}
