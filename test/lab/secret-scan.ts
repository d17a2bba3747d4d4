/**
 * Where the lab tests look for a secret that must not be there (canary scans): every process's
 * command line on this machine (the lab's servers are namespaces of it) and every value in the
 * control plane. Which files to grep differs per test (a job's key lives on a disk, a Galera key in
 * an instance), so the file scan stays with each test.
 */
import { readdirSync, readFileSync } from "node:fs";
import { readClusterState, rootEtcdctl } from "../../lab/controlplane";
import { controlPlaneDir } from "../../lab/orchestrate/controlplane";
import type { LabLayout } from "../../lab/orchestrate/layout";

/** The command line of every process that is still there when read. */
export function processCommandLines(): string[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        return [readFileSync(`/proc/${p}/cmdline`, "latin1").replace(/\0/g, " ")];
      } catch {
        return []; // gone between the listing and the read
      }
    });
}

/** Every value under every key of the lab's control plane, read as root with etcdctl. */
export async function controlPlaneValues(lab: LabLayout): Promise<string[]> {
  const out = await rootEtcdctl(readClusterState(controlPlaneDir(lab)))([
    "get",
    "",
    "--prefix",
    "-w",
    "json",
  ]);
  return ((JSON.parse(out) as { kvs?: { value?: string }[] }).kvs ?? []).map((kv) =>
    Buffer.from(kv.value ?? "", "base64").toString("latin1"),
  );
}

/** The names of the secrets that occur in any of the texts. */
export function secretsFoundIn(secrets: ReadonlyMap<string, string>, texts: readonly string[]): string[] {
  return [...secrets].filter(([, v]) => texts.some((t) => t.includes(v))).map(([name]) => name);
}
