/**
 * Checks across the stacks of one fleet: what no single stack can see. Pulumi evaluates one stack
 * at a time, so these run in `zeroroot fleet validate` (and CI), over every stack file.
 */
import { findDuplicates, type ValueSite } from "./checks";
import { ConfigIssue, joinPath } from "./issues";
import { overlaps, parseCidr, type Cidr } from "./net";
import type { StackFile } from "./stack-file";
import { KEYS, type PathSegment, type ResolvedStackConfig } from "./validate";

export interface CheckedStack {
  readonly file: StackFile;
  readonly config: ResolvedStackConfig;
}

/** Storage keeps quorum with two data centers of three, so it must live in at least three. */
export const MIN_STORAGE_DATA_CENTERS = 3;

export function checkFleet(stacks: readonly CheckedStack[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (s: CheckedStack, path: PathSegment[]) => ({
    path: joinPath(path),
    ...s.file.locate?.(path),
    file: s.file.file,
  });
  const globals = stacks.filter((s) => s.config.kind === "global");
  const dcs = stacks.filter(
    (s): s is CheckedStack & { config: Extract<ResolvedStackConfig, { kind: "dataCenter" }> } =>
      s.config.kind === "dataCenter",
  );

  const domains = new Set(stacks.map((s) => s.config.domain));
  if (domains.size > 1) {
    for (const s of stacks.slice(1)) {
      if (s.config.domain !== stacks[0].config.domain)
        issues.push({
          ...at(s, [KEYS.domain]),
          received: JSON.stringify(s.config.domain),
          allowed: `the fleet's one domain, ${JSON.stringify(stacks[0].config.domain)} (from ${stacks[0].file.file})`,
          fix: "use the same zeroroot:domain in every stack file",
        });
    }
  }

  if (globals.length > 1) {
    for (const g of globals.slice(1))
      issues.push({
        ...at(g, [KEYS.global]),
        received: `a second global stack (the first is ${globals[0].file.file})`,
        allowed: "exactly one global stack",
        fix: "keep one global stack file",
      });
  }
  const global = globals[0]?.config.kind === "global" ? globals[0] : undefined;
  const listed = global?.config.kind === "global" ? global.config.global.dataCenters : undefined;
  const names = new Map<string, CheckedStack>();
  for (const d of dcs) {
    const name = d.config.dataCenter.name;
    const other = names.get(name);
    if (other)
      issues.push({
        ...at(d, [KEYS.dataCenter, "name"]),
        received: `${JSON.stringify(name)}, also the name in ${other.file.file}`,
        allowed: "one stack per data center",
        fix: "rename the data center or remove the duplicate stack",
      });
    names.set(name, d);
    if (listed && !listed.includes(name))
      issues.push({
        ...at(d, [KEYS.dataCenter, "name"]),
        received: JSON.stringify(name),
        allowed: `a data center listed in the global stack: ${listed.join(", ")}`,
        fix: `add "${name}" to zeroroot:global.dataCenters in ${global?.file.file} or rename this one`,
      });
  }
  if (global && listed && dcs.length > 0) {
    listed.forEach((n, i) => {
      if (!names.has(n))
        issues.push({
          ...at(global, [KEYS.global, "dataCenters", i]),
          received: JSON.stringify(n),
          allowed: "a data center that has a stack file (Pulumi.<stack>.yaml with zeroroot:dataCenter.name)",
          fix: `create the stack file for ${n} or remove it from the list`,
        });
    });
  }

  const entries: ValueSite[] = [];
  for (const d of dcs) {
    const dc = d.config.dataCenter;
    const add = (kind: string, value: string, path: PathSegment[]) =>
      entries.push({ kind, value, path, ...d.file.locate?.(path), file: d.file.file });
    add("id", dc.managementServer.id, [KEYS.dataCenter, "managementServer", "id"]);
    add("hostname", dc.managementServer.hostname, [KEYS.dataCenter, "managementServer", "hostname"]);
    dc.managementServer.macs.forEach((m, j) =>
      add("MAC", m, [KEYS.dataCenter, "managementServer", "macs", j]),
    );
    dc.servers.forEach((s, i) => {
      add("id", s.id, [KEYS.dataCenter, "servers", i, "id"]);
      add("hostname", s.hostname, [KEYS.dataCenter, "servers", i, "hostname"]);
      add("address", s.address, [KEYS.dataCenter, "servers", i, "address"]);
      add("address", s.bmc.address, [KEYS.dataCenter, "servers", i, "bmc", "address"]);
      s.macs.forEach((m, j) => add("MAC", m, [KEYS.dataCenter, "servers", i, "macs", j]));
    });
  }
  // Repeats inside one file were reported by that stack's own check.
  issues.push(...findDuplicates(entries, { acrossFilesOnly: true }));

  const networks: { cidr: Cidr; stack: CheckedStack; path: PathSegment[] }[] = [];
  for (const d of dcs) {
    const dc = d.config.dataCenter;
    const push = (text: string, path: PathSegment[]) => {
      const c = parseCidr(text);
      if (typeof c !== "string") networks.push({ cidr: c, stack: d, path });
    };
    push(dc.managementNetwork, [KEYS.dataCenter, "managementNetwork"]);
    dc.dataNetworks.forEach((n, i) => push(n.cidr, [KEYS.dataCenter, "dataNetworks", i, "cidr"]));
  }
  networks.forEach((a, i) =>
    networks.slice(i + 1).forEach((b) => {
      if (a.stack !== b.stack && overlaps(a.cidr, b.cidr))
        issues.push({
          ...at(b.stack, b.path),
          received: `${b.cidr.text}, which overlaps ${a.cidr.text} of ${a.stack.file.file}`,
          allowed: "networks that do not overlap across data centers",
          fix: "give each data center its own address ranges",
        });
    }),
  );

  const withStorage = dcs.filter((d) => d.config.dataCenter.servers.some((s) => s.roles.includes("storage")));
  if (dcs.length > 0 && withStorage.length < MIN_STORAGE_DATA_CENTERS) {
    const where = global ?? dcs[0];
    issues.push({
      ...at(where, [global ? KEYS.global : KEYS.dataCenter]),
      path: "(fleet) servers with role storage",
      received: `storage in ${withStorage.length} data center(s): ${withStorage.map((d) => d.config.dataCenter.name).join(", ") || "none"}`,
      allowed: `storage servers in at least ${MIN_STORAGE_DATA_CENTERS} data centers, so storage keeps quorum when one data center is lost`,
      fix: "give the role storage to servers in each of three data centers",
    });
  }
  return issues;
}
