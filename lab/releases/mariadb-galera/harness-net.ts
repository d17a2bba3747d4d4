/**
 * The harness's network: one bridge in a `<id>-fab` namespace and one namespace per host on it
 * (eth0, a /24 address). Only namespaces named with the harness's own id are made or removed.
 */
import { spawnSync } from "node:child_process";

const ip = (args: string[], check = true): string => {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (check && r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

/** Makes the bridge and the hosts, unless the bridge's namespace exists already. */
export function harnessNetUp(id: string, hosts: readonly { ns: string; address: string }[]): void {
  const fab = `${id}-fab`;
  if (
    ip(["netns", "list"])
      .split("\n")
      .some((l) => l.split(" ")[0] === fab)
  )
    return;
  ip(["netns", "add", fab]);
  ip(["-n", fab, "link", "add", "br0", "type", "bridge"]);
  ip(["-n", fab, "link", "set", "br0", "up"]);
  hosts.forEach(({ ns, address }, n) => {
    ip(["netns", "add", ns]);
    ip(["link", "add", `${id}v${n}`, "netns", fab, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    ip(["-n", fab, "link", "set", `${id}v${n}`, "master", "br0", "up"]);
    ip(["-n", ns, "addr", "add", `${address}/24`, "dev", "eth0"]);
    ip(["-n", ns, "link", "set", "eth0", "up"]);
    ip(["-n", ns, "link", "set", "lo", "up"]);
  });
}

export function harnessNetDown(id: string, hosts: readonly string[]): void {
  for (const ns of [...hosts, `${id}-fab`]) ip(["netns", "del", ns], false);
}
