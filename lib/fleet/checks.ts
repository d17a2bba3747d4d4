/**
 * Checks of one data center that span several fields: names inside the data center's zone,
 * addresses inside the right network, uniqueness, BMC exposure, secrets. Each returns issues;
 * none throws, so the user sees all of them at once.
 */
import { leafNameProblem } from "../pki/identity";
import { checkHostAddress, checkMac } from "./address-checks";
import { ConfigIssue, describeValue, joinPath } from "./issues";
import { Cidr, contains, overlaps, parseCidr } from "./net";
import { CIPHER_SUITES } from "../contracts/resources";
import { type DataCenterConfig, type ManagementServerConfig, type ServerConfig } from "./schema";
import type { PathSegment, RawStackConfig } from "./validate";

const DC = "zeroroot:dataCenter";

/** A data center whose unparseable parts are `undefined` (holes keep list indices). */
export interface PartialDataCenter {
  readonly name: string;
  readonly managementNetwork: string;
  readonly dataNetworks: readonly ({ readonly name: string; readonly cidr: string } | undefined)[];
  readonly managementServer?: ManagementServerConfig;
  readonly servers: readonly (ServerConfig | undefined)[];
}

export function checkDataCenter(
  dc: DataCenterConfig | PartialDataCenter,
  domain: string,
  raw: RawStackConfig,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const report = (path: readonly PathSegment[], received: string, allowed: string, fix: string) =>
    issues.push({ path: joinPath(path), received, allowed, fix, ...raw.locate?.(path) });

  const mgmt = cidrAt(dc.managementNetwork, [DC, "managementNetwork"], report);
  const data = dc.dataNetworks.map((n, i) =>
    n ? cidrAt(n.cidr, [DC, "dataNetworks", i, "cidr"], report) : undefined,
  );
  const dataList = dc.dataNetworks.flatMap((n) => (n ? [n.cidr] : [])).join(", ");
  if (mgmt)
    data.forEach(
      (d, i) =>
        d &&
        overlaps(mgmt, d) &&
        report(
          [DC, "dataNetworks", i, "cidr"],
          JSON.stringify(d.text),
          `a network that does not overlap the management network ${mgmt.text}`,
          "give the data network its own address range: BMCs must not be reachable from the data network",
        ),
    );
  data.forEach((d, i) => {
    const j = d ? data.findIndex((e, k) => k < i && e && overlaps(e, d)) : -1;
    if (d && j >= 0)
      report(
        [DC, "dataNetworks", i, "cidr"],
        `${JSON.stringify(d.text)}, which overlaps ${data[j]!.text} (${joinPath([DC, "dataNetworks", j, "cidr"])})`,
        "data networks that do not overlap each other",
        "give each data network its own address range, or merge the two",
      );
  });
  const inData = (ip: string) => data.some((d) => d && contains(d, ip));
  const allNets = [mgmt, ...data];

  const zone = `${dc.name}.${domain}`;
  const inZone = (path: PathSegment[], hostname: string) => {
    if (!hostname.endsWith(`.${zone}`))
      report(
        path,
        JSON.stringify(hostname),
        `a host name inside ${zone}, the zone the data center's issuing CA is constrained to`,
        `rename it to <host>.${zone}`,
      );
  };
  // The id becomes the computer certificate's name: issuance refuses what leafNameProblem refuses.
  const idPrefix = (path: PathSegment[], id: string) => {
    if (!id.startsWith(`${dc.name}-`))
      report(
        path,
        JSON.stringify(id),
        `an id starting with "${dc.name}-", so ids are unique across the fleet and a certificate's CN names its data center`,
        `rename it to ${dc.name}-${id}`,
      );
    else if (leafNameProblem("computer", id, dc.name))
      report(
        path,
        JSON.stringify(id),
        `a computer certificate name: ${leafNameProblem("computer", id, dc.name)}`,
        "end the id with a letter or digit and keep it to 64 characters",
      );
  };

  const ms = dc.managementServer;
  if (ms) idPrefix([DC, "managementServer", "id"], ms.id);
  if (ms) inZone([DC, "managementServer", "hostname"], ms.hostname);
  if (ms) ms.macs.forEach((m, j) => checkMac(m, [DC, "managementServer", "macs", j], report));
  if (ms)
    checkHostAddress(ms.managementAddress, allNets, [DC, "managementServer", "managementAddress"], report);
  if (ms) checkHostAddress(ms.dataAddress, allNets, [DC, "managementServer", "dataAddress"], report);
  if (ms && mgmt && !contains(mgmt, ms.managementAddress))
    report(
      [DC, "managementServer", "managementAddress"],
      JSON.stringify(ms.managementAddress),
      `an address inside the management network ${mgmt.text}`,
      "pick a free address of the management network",
    );
  if (ms && !inData(ms.dataAddress))
    report(
      [DC, "managementServer", "dataAddress"],
      JSON.stringify(ms.dataAddress),
      `an address inside a data network (${dataList}), where servers netboot from it`,
      "pick a free address of a data network",
    );

  dc.servers.forEach((s, i) => {
    if (!s) return;
    const at = (...rest: PathSegment[]) => [DC, "servers", i, ...rest];
    idPrefix(at("id"), s.id);
    inZone(at("hostname"), s.hostname);
    s.macs.forEach((m, j) => checkMac(m, at("macs", j), report));
    checkHostAddress(s.address, allNets, at("address"), report);
    checkHostAddress(s.bmc.address, allNets, at("bmc", "address"), report);
    if (!inData(s.address))
      report(
        at("address"),
        JSON.stringify(s.address),
        `an address inside a data network (${dataList})`,
        "pick a free address of one of the data center's data networks",
      );
    if (inData(s.bmc.address))
      report(
        at("bmc", "address"),
        JSON.stringify(s.bmc.address),
        "a BMC address that no data network contains",
        "move the BMC to the management network: from the data network any compromised server could reach it",
      );
    else if (mgmt && !contains(mgmt, s.bmc.address))
      report(
        at("bmc", "address"),
        JSON.stringify(s.bmc.address),
        `an address inside the management network ${mgmt.text}`,
        "put the BMC on the management network (the IPMI switch), never on a data network",
      );
    checkCipherSuite(s.bmc.cipherSuite, at("bmc", "cipherSuite"), report);
    if (!raw.isSecret(at("bmc", "password")))
      report(
        at("bmc", "password"),
        describeValue(s.bmc.password, true) + " in plain text",
        "a Pulumi secret",
        `run: pulumi config set --secret --path '${joinPath(at("bmc", "password").slice(1))}' <password>  (it is then stored encrypted)`,
      );
  });

  issues.push(...duplicates(dc, raw));
  return issues;
}

function checkCipherSuite(
  suite: number,
  path: PathSegment[],
  report: (p: PathSegment[], r: string, a: string, f: string) => void,
) {
  if ((CIPHER_SUITES as readonly number[]).includes(suite)) return;
  const why =
    suite === 0
      ? " (suite 0 has no authentication: the BMC accepts any password)"
      : suite === 1 || suite === 2
        ? " (suites 1 and 2 do not encrypt the session)"
        : "";
  report(
    path,
    `${suite}${why}`,
    `one of ${CIPHER_SUITES.join(", ")} (authenticated, integrity-protected and encrypted)`,
    "set it to 17 if the BMC supports it, otherwise 3, and disable suite 0 on the BMC",
  );
}

function cidrAt(
  text: string,
  path: PathSegment[],
  report: (p: PathSegment[], r: string, a: string, f: string) => void,
): Cidr | undefined {
  const parsed = parseCidr(text);
  if (typeof parsed === "string") {
    report(
      path,
      `${JSON.stringify(text)}, which ${parsed}`,
      "a network in CIDR notation such as 10.78.1.0/24",
      "write the network address and prefix length",
    );
    return undefined;
  }
  return parsed;
}

/** Values that must be unique within the data center: ids, host names, MACs, every address. */
function duplicates(dc: DataCenterConfig | PartialDataCenter, raw: RawStackConfig): ConfigIssue[] {
  const entries: { kind: string; value: string; path: PathSegment[] }[] = [];
  const ms = dc.managementServer;
  if (ms) {
    entries.push({ kind: "id", value: ms.id, path: [DC, "managementServer", "id"] });
    entries.push({ kind: "hostname", value: ms.hostname, path: [DC, "managementServer", "hostname"] });
    entries.push({
      kind: "address",
      value: ms.managementAddress,
      path: [DC, "managementServer", "managementAddress"],
    });
    entries.push({ kind: "address", value: ms.dataAddress, path: [DC, "managementServer", "dataAddress"] });
    ms.macs.forEach((m, j) =>
      entries.push({ kind: "MAC", value: m, path: [DC, "managementServer", "macs", j] }),
    );
  }
  dc.servers.forEach((s, i) => {
    if (!s) return;
    const at = (...rest: PathSegment[]) => [DC, "servers", i, ...rest];
    entries.push({ kind: "id", value: s.id, path: at("id") });
    entries.push({ kind: "hostname", value: s.hostname, path: at("hostname") });
    entries.push({ kind: "address", value: s.address, path: at("address") });
    entries.push({ kind: "address", value: s.bmc.address, path: at("bmc", "address") });
    s.macs.forEach((m, j) => entries.push({ kind: "MAC", value: m, path: at("macs", j) }));
  });
  return findDuplicates(entries.map((e) => ({ ...e, ...raw.locate?.(e.path) })));
}

export interface ValueSite {
  readonly kind: string;
  readonly value: string;
  readonly path: readonly PathSegment[];
  readonly file?: string;
  readonly line?: number;
}

/**
 * Reports every repeat of a (kind, value) pair, naming the first place it was used. With
 * `acrossFilesOnly`, repeats inside one file are left to that file's own check.
 */
export function findDuplicates(
  entries: readonly ValueSite[],
  opts: { acrossFilesOnly?: boolean } = {},
): ConfigIssue[] {
  const seen = new Map<string, ValueSite>();
  const issues: ConfigIssue[] = [];
  for (const e of entries) {
    const key = `${e.kind}\u0000${e.value.toLowerCase()}`;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, e);
      continue;
    }
    if (opts.acrossFilesOnly && first.file === e.file) continue;
    const firstWhere = `${first.file && first.file !== e.file ? `${first.file}: ` : ""}${joinPath(first.path)}`;
    issues.push({
      path: joinPath(e.path),
      received: `${JSON.stringify(e.value)}, the same ${e.kind} as ${firstWhere}`,
      allowed: `a ${e.kind} used once across the fleet`,
      fix: `change one of ${joinPath(e.path)} and ${firstWhere}`,
      ...(e.file ? { file: e.file } : {}),
      ...(e.line ? { line: e.line } : {}),
    });
  }
  return issues;
}
