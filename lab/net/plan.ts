/**
 * The lab's network as plain data, its validation, and the names of every namespace, bridge and veth
 * derived from it. Pure: no I/O.
 *
 * Topology, per data center i (1-based position in `dataCenters`):
 *   <prefix>fabric      bridges bm<i> (management, no address: never routed) and bd<i> (data, the
 *                       gateway address); routes and forwards between the bd<i> only (nftables)
 *   <prefix><dc>-mgmt   the management server: mgmt0 on bm<i>, data0 on bd<i>, default route via the
 *                       data gateway; no forwarding
 *   <prefix><dc>-bmc    the BMCs of the data center's servers: every BMC address on mgmt0 (bm<i>)
 *   <prefix><server>    one per server: eth0 on bd<i>, default route via the data gateway
 */

export interface ServerNetPlan {
  /** Inventory id; the namespace is `<prefix><id>`. */
  readonly id: string;
  /** Address on the data network. */
  readonly dataAddress: string;
  /** Address of the server's BMC on the management network. */
  readonly bmcAddress: string;
  /** MAC of the server's data interface. @default - kernel-chosen */
  readonly mac?: string;
}

export interface DcNetPlan {
  /** Data center id, e.g. "dc1". */
  readonly id: string;
  /** /24 management network, e.g. "10.77.1.0/24". */
  readonly managementSubnet: string;
  /** /24 data network, e.g. "10.78.1.0/24". */
  readonly dataSubnet: string;
  /** The fabric's address on the data network (the servers' default gateway). */
  readonly dataGateway: string;
  /** The management server's addresses. */
  readonly managementServer: { readonly managementAddress: string; readonly dataAddress: string };
  readonly servers: readonly ServerNetPlan[];
}

export interface LabNetPlan {
  /** Prefix of every namespace the lab creates; `down` removes every namespace with it. @default "zr-" */
  readonly prefix?: string;
  readonly dataCenters: readonly DcNetPlan[];
}

export interface DcNames {
  readonly index: number;
  readonly mgmtNs: string;
  readonly bmcNs: string;
  readonly mgmtBridge: string;
  readonly dataBridge: string;
  /** Fabric-side veth names. */
  readonly mgmtToMgmtBridge: string;
  readonly mgmtToDataBridge: string;
  readonly bmcToMgmtBridge: string;
  readonly servers: readonly { readonly id: string; readonly ns: string; readonly fabricVeth: string }[];
}

export interface NetNames {
  readonly prefix: string;
  readonly fabricNs: string;
  readonly dcs: readonly DcNames[];
}

export const DEFAULT_PREFIX = "zr-";
/** Interface names inside the non-fabric namespaces. */
export const IFACE = { mgmt: "mgmt0", data: "data0", server: "eth0" } as const;

export function netNames(plan: LabNetPlan): NetNames {
  const prefix = plan.prefix ?? DEFAULT_PREFIX;
  return {
    prefix,
    fabricNs: `${prefix}fabric`,
    dcs: plan.dataCenters.map((dc, k) => {
      const i = k + 1;
      return {
        index: i,
        mgmtNs: `${prefix}${dc.id}-mgmt`,
        bmcNs: `${prefix}${dc.id}-bmc`,
        mgmtBridge: `bm${i}`,
        dataBridge: `bd${i}`,
        mgmtToMgmtBridge: `m${i}m`,
        mgmtToDataBridge: `m${i}d`,
        bmcToMgmtBridge: `b${i}`,
        servers: dc.servers.map((s, j) => ({
          id: s.id,
          ns: `${prefix}${s.id}`,
          fabricVeth: `s${i}x${j + 1}`,
        })),
      };
    }),
  };
}

/** All namespace names of a plan, fabric first. */
export function allNamespaces(plan: LabNetPlan): string[] {
  const n = netNames(plan);
  return [n.fabricNs, ...n.dcs.flatMap((d) => [d.mgmtNs, d.bmcNs, ...d.servers.map((s) => s.ns)])];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function subnet24(cidr: string): string | undefined {
  const m = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(cidr);
  return m && IPV4.test(`${m[1]}.0`) ? m[1] : undefined;
}

/** Throws one message listing every problem (path, value, what is allowed). */
export function validateNetPlan(plan: LabNetPlan): void {
  const errs: string[] = [];
  const prefix = plan.prefix ?? DEFAULT_PREFIX;
  if (!/^zr[a-z0-9]*-([a-z0-9]+-)?$/.test(prefix))
    errs.push(`prefix ${JSON.stringify(prefix)}: must start with "zr" and end with "-", e.g. "zr-"`);
  if (plan.dataCenters.length === 0) errs.push("dataCenters: empty; give at least one data center");
  if (plan.dataCenters.length > 99) errs.push("dataCenters: at most 99");
  const seen = new Set<string>();
  const unique = (what: string, v: string, at: string): void => {
    if (seen.has(`${what}:${v}`)) errs.push(`${at}: ${what} ${v} used twice`);
    seen.add(`${what}:${v}`);
  };
  plan.dataCenters.forEach((dc, k) => {
    const at = `dataCenters[${k}]`;
    if (!/^[a-z0-9]{1,12}$/.test(dc.id)) errs.push(`${at}.id ${JSON.stringify(dc.id)}: 1-12 of [a-z0-9]`);
    unique("id", dc.id, `${at}.id`);
    const m = subnet24(dc.managementSubnet);
    const d = subnet24(dc.dataSubnet);
    if (!m)
      errs.push(`${at}.managementSubnet ${JSON.stringify(dc.managementSubnet)}: a /24 like "10.77.1.0/24"`);
    if (!d) errs.push(`${at}.dataSubnet ${JSON.stringify(dc.dataSubnet)}: a /24 like "10.78.1.0/24"`);
    if (m) unique("subnet", m, `${at}.managementSubnet`);
    if (d) unique("subnet", d, `${at}.dataSubnet`);
    const inNet = (addr: string, net: string | undefined, where: string): void => {
      const host = Number(addr.split(".")[3]);
      if (!IPV4.test(addr) || (net !== undefined && !addr.startsWith(`${net}.`)) || host < 1 || host > 254)
        errs.push(
          `${where} ${JSON.stringify(addr)}: a host address (.1-.254) in ${net ? `${net}.0/24` : "its subnet"}`,
        );
      unique("address", addr, where);
    };
    inNet(dc.dataGateway, d, `${at}.dataGateway`);
    inNet(dc.managementServer.managementAddress, m, `${at}.managementServer.managementAddress`);
    inNet(dc.managementServer.dataAddress, d, `${at}.managementServer.dataAddress`);
    if (dc.servers.length > 250) errs.push(`${at}.servers: at most 250`);
    dc.servers.forEach((s, j) => {
      const sat = `${at}.servers[${j}]`;
      if (
        !/^[a-z0-9][a-z0-9-]{0,40}$/.test(s.id) ||
        s.id.endsWith("-mgmt") ||
        s.id.endsWith("-bmc") ||
        s.id === "fabric"
      )
        errs.push(
          `${sat}.id ${JSON.stringify(s.id)}: 1-41 of [a-z0-9-], not "fabric" nor ending in -mgmt/-bmc`,
        );
      unique("id", s.id, `${sat}.id`);
      inNet(s.dataAddress, d, `${sat}.dataAddress`);
      inNet(s.bmcAddress, m, `${sat}.bmcAddress`);
      if (s.mac !== undefined && !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s.mac))
        errs.push(`${sat}.mac ${JSON.stringify(s.mac)}: like "02:00:00:00:01:0a"`);
    });
  });
  if (errs.length > 0) throw new Error(`lab network plan is invalid:\n  - ${errs.join("\n  - ")}`);
}

/**
 * The suggested plan: data centers dc1..dcN, management 10.<m>.<dc>.0/24, data 10.<d>.<dc>.0/24
 * (m, d = 77, 78 unless `octets` says otherwise: each lab id has its own, lab/orchestrate/lab-id.ts),
 * gateway .1, management server .2, server k at .(10+k) on both networks (its BMC on management).
 */
export function defaultNetPlan(
  opts: {
    readonly dataCenters?: number;
    readonly serversPerDc?: number;
    readonly prefix?: string;
    readonly octets?: { readonly management: number; readonly data: number };
  } = {},
): LabNetPlan {
  const dcs = opts.dataCenters ?? 3;
  const per = opts.serversPerDc ?? 2;
  const { management: mo, data: dO } = opts.octets ?? { management: 77, data: 78 };
  return {
    prefix: opts.prefix ?? DEFAULT_PREFIX,
    dataCenters: Array.from({ length: dcs }, (_, k) => {
      const n = k + 1;
      return {
        id: `dc${n}`,
        managementSubnet: `10.${mo}.${n}.0/24`,
        dataSubnet: `10.${dO}.${n}.0/24`,
        dataGateway: `10.${dO}.${n}.1`,
        managementServer: { managementAddress: `10.${mo}.${n}.2`, dataAddress: `10.${dO}.${n}.2` },
        servers: Array.from({ length: per }, (_, j) => ({
          id: `dc${n}-s${j + 1}`,
          dataAddress: `10.${dO}.${n}.${10 + j + 1}`,
          bmcAddress: `10.${mo}.${n}.${10 + j + 1}`,
          mac: `02:00:00:00:${n.toString(16).padStart(2, "0")}:${(10 + j + 1).toString(16).padStart(2, "0")}`,
        })),
      };
    }),
  };
}

/**
 * True for a namespace a lab with this prefix makes (fabric, <dc>-mgmt, <dc>-bmc, <dc>-s<k>), also
 * for servers no longer in its plan, and for nothing else that merely shares the prefix (another
 * tool's `zr-t123-…` test namespaces are not the lab's to remove).
 */
export function isLabNamespace(prefix: string, ns: string): boolean {
  if (!ns.startsWith(prefix)) return false;
  return /^(fabric|[a-z0-9]{1,12}-(mgmt|bmc|s\d{1,3}))$/.test(ns.slice(prefix.length));
}
