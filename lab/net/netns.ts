/**
 * Creates and removes the lab's namespaces, bridges and veths with iproute2 and nftables. Every
 * command targets a namespace of the plan (`ip -n <ns>`); nothing is added to the host's namespace.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { IFACE, allNamespaces, netNames, validateNetPlan, DEFAULT_PREFIX, type LabNetPlan } from "./plan";

const run = promisify(execFile);

async function sh(file: string, args: readonly string[], input?: string): Promise<string> {
  try {
    if (input !== undefined) {
      return await new Promise<string>((resolve, reject) => {
        const child = execFile(file, [...args], (err, stdout) => (err ? reject(err) : resolve(stdout)));
        child.stdin?.end(input);
      });
    }
    return (await run(file, [...args])).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `lab network: \`${file} ${args.join(" ")}\` failed: ${(err.stderr || err.message).trim()}`,
    );
  }
}

const ip = (args: readonly string[]): Promise<string> => sh("ip", args);

/** Names of existing network namespaces (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const out = await ip(["netns", "list"]);
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n): n is string => Boolean(n));
}

async function linkNames(ns: string): Promise<Set<string>> {
  const links = JSON.parse((await ip(["-n", ns, "-j", "link", "show"])) || "[]") as { ifname: string }[];
  return new Set(links.map((l) => l.ifname));
}

async function ensureNs(name: string, existing: Set<string>): Promise<void> {
  if (!existing.has(name)) await ip(["netns", "add", name]);
  await ip(["-n", name, "link", "set", "lo", "up"]);
}

async function sysctl(ns: string, key: string, value: string): Promise<void> {
  await sh("ip", ["netns", "exec", ns, "sysctl", "-qw", `${key}=${value}`]);
}

/** A veth from a bridge in the fabric to `ifname` in `ns`, with addresses; created only if missing. */
async function ensureVeth(
  fabricNs: string,
  fabricLinks: Set<string>,
  fabricSide: string,
  bridge: string,
  ns: string,
  ifname: string,
  addresses: readonly string[],
  mac?: string,
): Promise<void> {
  if (!fabricLinks.has(fabricSide)) {
    const peerLinks = await linkNames(ns);
    if (peerLinks.has(ifname)) await ip(["-n", ns, "link", "del", ifname]);
    await ip([
      "-n",
      fabricNs,
      "link",
      "add",
      fabricSide,
      "type",
      "veth",
      "peer",
      "name",
      ifname,
      "netns",
      ns,
    ]);
    fabricLinks.add(fabricSide);
  }
  await ip(["-n", fabricNs, "link", "set", fabricSide, "master", bridge, "up"]);
  if (mac) await ip(["-n", ns, "link", "set", ifname, "address", mac]);
  await ip(["-n", ns, "link", "set", ifname, "up"]);
  for (const a of addresses) await ip(["-n", ns, "addr", "replace", `${a}/24`, "dev", ifname]);
}

async function ensureBridge(ns: string, links: Set<string>, name: string, address?: string): Promise<void> {
  if (!links.has(name)) {
    await ip(["-n", ns, "link", "add", name, "type", "bridge"]);
    links.add(name);
  }
  await ip(["-n", ns, "link", "set", name, "up"]);
  if (address) await ip(["-n", ns, "addr", "replace", `${address}/24`, "dev", name]);
}

/**
 * Forward only between data bridges: management networks are never routed. Where br_netfilter is
 * loaded (bridge-nf-call-iptables=1, as on this machine), frames switched inside one bridge also
 * traverse this hook with iif = oif = the bridge, so each management bridge may forward to itself.
 */
function fabricRuleset(dataBridges: readonly string[], mgmtBridges: readonly string[]): string {
  const set = dataBridges.map((b) => `"${b}"`).join(", ");
  return [
    "table inet zr_fabric",
    "delete table inet zr_fabric",
    "table inet zr_fabric {",
    "  chain forward {",
    "    type filter hook forward priority 0; policy drop;",
    `    iifname { ${set} } oifname { ${set} } accept`,
    ...mgmtBridges.map((b) => `    iifname "${b}" oifname "${b}" accept`),
    "  }",
    "}",
    "",
  ].join("\n");
}

export interface NetUpResult {
  readonly namespaces: readonly string[];
  readonly ms: number;
}

/** Brings the lab network up; idempotent (a second call changes nothing and fails on nothing). */
export async function labNetUp(plan: LabNetPlan): Promise<NetUpResult> {
  const t0 = Date.now();
  validateNetPlan(plan);
  const n = netNames(plan);
  const existing = new Set(await listNamespaces());
  for (const ns of allNamespaces(plan)) await ensureNs(ns, existing);
  await sysctl(n.fabricNs, "net.ipv4.ip_forward", "1");
  const fabricLinks = await linkNames(n.fabricNs);
  for (const [k, dc] of plan.dataCenters.entries()) {
    const d = n.dcs[k];
    await ensureBridge(n.fabricNs, fabricLinks, d.mgmtBridge);
    await ensureBridge(n.fabricNs, fabricLinks, d.dataBridge, dc.dataGateway);
    const ms = dc.managementServer;
    await ensureVeth(n.fabricNs, fabricLinks, d.mgmtToMgmtBridge, d.mgmtBridge, d.mgmtNs, IFACE.mgmt, [
      ms.managementAddress,
    ]);
    await ensureVeth(n.fabricNs, fabricLinks, d.mgmtToDataBridge, d.dataBridge, d.mgmtNs, IFACE.data, [
      ms.dataAddress,
    ]);
    await ip(["-n", d.mgmtNs, "route", "replace", "default", "via", dc.dataGateway]);
    await sysctl(d.mgmtNs, "net.ipv4.ip_forward", "0");
    const bmcs = dc.servers.map((s) => s.bmcAddress);
    await ensureVeth(n.fabricNs, fabricLinks, d.bmcToMgmtBridge, d.mgmtBridge, d.bmcNs, IFACE.mgmt, bmcs);
    for (const [j, s] of dc.servers.entries()) {
      const sn = d.servers[j];
      await ensureVeth(
        n.fabricNs,
        fabricLinks,
        sn.fabricVeth,
        d.dataBridge,
        sn.ns,
        IFACE.server,
        [s.dataAddress],
        s.mac,
      );
      await ip(["-n", sn.ns, "route", "replace", "default", "via", dc.dataGateway]);
    }
  }
  await sh(
    "ip",
    ["netns", "exec", n.fabricNs, "nft", "-f", "-"],
    fabricRuleset(
      n.dcs.map((d) => d.dataBridge),
      n.dcs.map((d) => d.mgmtBridge),
    ),
  );
  return { namespaces: allNamespaces(plan), ms: Date.now() - t0 };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function nsPids(ns: string): Promise<number[]> {
  try {
    return (await ip(["netns", "pids", ns]))
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((p) => Number.isInteger(p) && p > 1 && p !== process.pid);
  } catch {
    return [];
  }
}

async function killNsProcesses(ns: string, graceMs: number): Promise<void> {
  const signal = (pids: number[], sig: NodeJS.Signals): void => {
    for (const p of pids) {
      try {
        process.kill(p, sig);
      } catch {
        // already gone
      }
    }
  };
  let pids = await nsPids(ns);
  if (pids.length === 0) return;
  signal(pids, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while ((pids = await nsPids(ns)).length > 0 && Date.now() < deadline) await sleep(50);
  signal(pids, "SIGKILL");
}

export interface NetDownResult {
  readonly removed: readonly string[];
  /** Namespaces with the prefix still present afterwards (should be empty). */
  readonly remaining: readonly string[];
}

/**
 * Removes every namespace whose name starts with the plan's prefix (so leftovers of an older plan
 * go too), after stopping the processes inside them. Veths and bridges live only in those
 * namespaces and disappear with them.
 */
export async function labNetDown(
  planOrPrefix: LabNetPlan | string = DEFAULT_PREFIX,
  opts: { readonly graceMs?: number; readonly only?: (ns: string) => boolean } = {},
): Promise<NetDownResult> {
  const prefix = typeof planOrPrefix === "string" ? planOrPrefix : (planOrPrefix.prefix ?? DEFAULT_PREFIX);
  if (!prefix.startsWith("zr"))
    throw new Error(
      `lab network: refusing to remove namespaces with prefix ${JSON.stringify(prefix)} (must start with "zr")`,
    );
  const ours = (await listNamespaces()).filter((ns) => ns.startsWith(prefix) && (opts.only?.(ns) ?? true));
  // Servers and site services first, the fabric last.
  ours.sort((a, b) => Number(a.endsWith("fabric")) - Number(b.endsWith("fabric")));
  for (const ns of ours) {
    await killNsProcesses(ns, opts.graceMs ?? 3000);
    await ip(["netns", "del", ns]);
  }
  const remaining = (await listNamespaces()).filter(
    (ns) => ns.startsWith(prefix) && (opts.only?.(ns) ?? true),
  );
  return { removed: ours, remaining };
}

export interface NetStatus {
  readonly present: readonly string[];
  readonly missing: readonly string[];
  /** Namespaces with the prefix that the plan does not name. */
  readonly extra: readonly string[];
}

export async function labNetStatus(plan: LabNetPlan): Promise<NetStatus> {
  const prefix = plan.prefix ?? DEFAULT_PREFIX;
  const have = new Set((await listNamespaces()).filter((ns) => ns.startsWith(prefix)));
  const want = allNamespaces(plan);
  return {
    present: want.filter((ns) => have.has(ns)),
    missing: want.filter((ns) => !have.has(ns)),
    extra: [...have].filter((ns) => !want.includes(ns)),
  };
}

/** argv prefix that runs a program inside a namespace (for spawnRunner and friends). */
export const inNamespace = (ns: string): string[] => ["ip", "netns", "exec", ns];
