/**
 * A small throw-away network for the control plane's lab tests, independent of lab/net: namespaces
 * `zr-cp-test-<name>` joined by a bridge that lives in its own namespace `zr-cp-test-sw` (so the
 * host's network is never touched). Created and removed by the tests; `destroyTestNet` removes every
 * namespace with the prefix and its /etc/netns directory, also after a crashed run.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";

export const TEST_PREFIX = "zr-cp-test-";
const SWITCH = `${TEST_PREFIX}sw`;

export interface TestNet {
  /** Address of each named namespace on the test subnet. */
  readonly hosts: Readonly<Record<string, { readonly namespace: string; readonly address: string }>>;
}

const ip = (...args: string[]): void => {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
};

export function listTestNamespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n.startsWith(TEST_PREFIX));
}

/** Creates one namespace per name (e.g. ["dc1", "dc2", "dc3", "client"]) on 10.79.0.0/24. */
export function createTestNet(names: readonly string[], subnet = "10.79.0"): TestNet {
  destroyTestNet();
  ip("netns", "add", SWITCH);
  ip("-n", SWITCH, "link", "add", "br0", "type", "bridge");
  ip("-n", SWITCH, "link", "set", "br0", "up");
  const hosts: Record<string, { namespace: string; address: string }> = {};
  names.forEach((name, k) => {
    const ns = `${TEST_PREFIX}${name}`;
    const address = `${subnet}.${11 + k}`;
    ip("netns", "add", ns);
    ip("-n", SWITCH, "link", "add", `p${k}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
    ip("-n", SWITCH, "link", "set", `p${k}`, "master", "br0", "up");
    ip("-n", ns, "addr", "add", `${address}/24`, "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
    ip("-n", ns, "link", "set", "lo", "up");
    hosts[name] = { namespace: ns, address };
  });
  return { hosts };
}

export function destroyTestNet(): void {
  for (const ns of listTestNamespaces()) {
    try {
      ip("netns", "del", ns);
    } catch {
      // already gone
    }
    fs.rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  }
}
