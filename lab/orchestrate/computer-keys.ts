/**
 * Everything the control plane holds under `/computers/` (published desired states, agents' reports),
 * read as the lab's operator reads it: root's etcdctl from a member's namespace. `lab status` (report
 * times) and `lab up` (applied desired state) read the same keys through this one reader.
 */
import { readClusterState, rootEtcdctl } from "../controlplane";
import { controlPlaneDir } from "./controlplane";
import type { LabLayout } from "./layout";

export interface ComputerKeysRead {
  /** Serializable (`s`): any member answers, maybe a little behind; status reads need no more. */
  readonly consistency?: "l" | "s";
  readonly timeoutSeconds: number;
}

/** Key → value (both text) of every key under `/computers/`. Throws when the control plane does not answer. */
export async function readComputerKeys(lab: LabLayout, opts: ComputerKeysRead): Promise<Map<string, string>> {
  const out = await rootEtcdctl(readClusterState(controlPlaneDir(lab)))([
    "get",
    "--prefix",
    "/computers/",
    `--consistency=${opts.consistency ?? "l"}`,
    "-w",
    "json",
    `--command-timeout=${opts.timeoutSeconds}s`,
  ]);
  const kvs = (JSON.parse(out) as { kvs?: { key: string; value: string }[] }).kvs ?? [];
  return new Map(
    kvs.map((kv) => [Buffer.from(kv.key, "base64").toString(), Buffer.from(kv.value, "base64").toString()]),
  );
}
