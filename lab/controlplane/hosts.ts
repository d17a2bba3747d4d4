/**
 * Name resolution for the control plane inside the lab's namespaces: `ip netns exec <ns>` bind-mounts
 * /etc/netns/<ns>/hosts over /etc/hosts, so members, agents and etcdctl there resolve the members'
 * DNS names (which their certificates carry) without touching the host's /etc/hosts. Our lines are
 * tagged so that other lab parts' lines in the same file are kept.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const TAG = "# zeroroot-controlplane";
const BASE = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

export function hostsFileOf(namespace: string): string {
  return path.join("/etc/netns", namespace, "hosts");
}

/** Pure: `current` with our previous lines replaced by `entries`. */
export function mergeHosts(
  current: string | undefined,
  entries: readonly { address: string; name: string }[],
): string {
  const kept = (current ?? BASE).split("\n").filter((l) => l !== "" && !l.endsWith(TAG));
  return [...kept, ...entries.map((e) => `${e.address}\t${e.name}\t${TAG}`)].join("\n") + "\n";
}

export function writeHostsEntries(
  namespaces: readonly string[],
  entries: readonly { address: string; name: string }[],
): void {
  for (const ns of namespaces) {
    const f = hostsFileOf(ns);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, mergeHosts(fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined, entries), {
      mode: 0o644,
    });
  }
}
