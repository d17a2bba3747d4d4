/**
 * What the user's lab has on this machine — its namespaces and its ipmi_sim processes — so a test
 * can show the test lab's up and down left it exactly as it was; and a decoy of such a lab (a
 * namespace a user's `lab down` would remove, an ipmi_sim), present even where no user lab runs.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBmcSim, stopBmcSim } from "../../../lab/bmc";
import { isLabNamespace } from "../../../lab/net";
import { labDirOf, labPrefixOf } from "../../../lab/orchestrate/lab-id";

export interface Footprint {
  readonly namespaces: readonly string[];
  /** "pid cmdline" of each ipmi_sim. */
  readonly bmcs: readonly string[];
}

const cmdline = (pid: string) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
};

/**
 * The user's lab (lab id "", prefix "zr-", folder labDirOf("")) and the decoy: its namespaces and
 * the ipmi_sim processes of its folder or the decoy's. Other labs running at the same time (another
 * lab-tier run under another id) come and go on their own and are not part of it.
 */
export function userLab(decoy: { readonly namespace: string; readonly dir: string }): Footprint {
  const namespaces = spawnSync("ip", ["netns", "list"], { encoding: "utf8" })
    .stdout.split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n) => n && isLabNamespace(labPrefixOf(""), n))
    // Decoys of lab-tier runs under other ids (data center 9 exists in no lab) are theirs.
    .filter((n) => n === decoy.namespace || !/^zr-dc9-/.test(n))
    .sort();
  const userDir = `${labDirOf("")}/`;
  const bmcs = readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .map((p) => [p, cmdline(p)] as const)
    .filter(([, c]) => /(^|\/)ipmi_sim /.test(c) && (c.includes(userDir) || c.includes(decoy.dir)))
    .map(([p, c]) => `${p} ${c}`)
    .sort();
  return { namespaces, bmcs };
}

export interface Decoy {
  readonly namespace: string;
  readonly dir: string;
  remove(): Promise<void>;
}

/** A namespace named as a user lab's server and an ipmi_sim in it, as a user lab would have them. */
export async function startDecoy(): Promise<Decoy> {
  const namespace = `zr-dc9-s${process.pid % 1000}`;
  spawnSync("ip", ["netns", "add", namespace]);
  spawnSync("ip", ["-n", namespace, "link", "set", "lo", "up"]);
  const dir = mkdtempSync(join(tmpdir(), "zr-decoy-"));
  await startBmcSim({
    serverId: namespace.slice(3),
    netns: namespace,
    address: "127.0.0.1",
    username: "decoy",
    password: "decoy-password",
    stateDir: join(dir, "bmc"),
    bootCommand: ["/bin/true"],
  });
  return {
    namespace,
    dir,
    async remove() {
      await stopBmcSim(join(dir, "bmc"));
      spawnSync("ip", ["netns", "del", namespace]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
