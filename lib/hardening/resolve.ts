/**
 * Validation of a hardened image's arguments: `resolveHardenedImageSpec(args)` checks every argument,
 * collects every problem (where, what was received, what is allowed, how to fix it) and returns the
 * complete spec, or throws them all at once.
 */
import { HardeningSpecError, SpecIssue } from "./errors";
import { FORBIDDEN_PACKAGES, forbiddenReason } from "./forbidden";
import { MAX_PARTITIONS, PARTITION_UID_BASE, partitionUsers } from "./partitions";
import { ROLE_IMAGES, SERVER_ROLES, isServerRole, type RoleImage } from "./roles";
import {
  AGENT_USER,
  BASE_PACKAGES,
  IMAGE_PATHS,
  IMAGE_RECIPE_VERSION,
  MAX_PLATFORM_UID,
  MIN_PLATFORM_UID,
  REMOTE_LOGIN_PORTS,
  SHIPPED_FILES,
  type HardenedFirewall,
  type HardenedImageArgs,
  type HardenedImageSpec,
  type PlatformUser,
} from "./spec";
import {
  APT_CONF,
  BANNER,
  DEFAULT_LOGIN_DEFS,
  DEFAULT_MODPROBE_DISABLED,
  DEFAULT_SYSCTL,
  LIMITS_CONF,
  SCHEDULER_MODES,
  SHELL_PROFILE,
  UNWANTED_PACKAGES,
} from "./tuning";

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const USER_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const PROGRAM_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Validates the arguments and returns the complete spec, or throws listing every problem. */
export function resolveHardenedImageSpec(args: HardenedImageArgs = {}): HardenedImageSpec {
  const issues: SpecIssue[] = [];
  const role = resolveRole(args.role, issues);
  const packages = resolvePackages(args.extraPackages ?? [], issues, role?.packages ?? []);
  const firewall: HardenedFirewall = {
    inputPolicy: "drop",
    allowedTcpPorts: resolvePorts("allowedTcpPorts", args.allowedTcpPorts ?? [], issues, role?.tcpPorts),
    allowedUdpPorts: resolvePorts("allowedUdpPorts", args.allowedUdpPorts ?? [], issues, role?.udpPorts),
    allowIcmpEcho: args.allowIcmpEcho ?? true,
  };
  const users = resolveUsers(args, issues);
  if (issues.length > 0) throw new HardeningSpecError(issues);
  return {
    recipeVersion: IMAGE_RECIPE_VERSION,
    role: args.role ?? "base",
    suite: "bookworm",
    variant: "minbase",
    packages,
    // a package the caller asks for explicitly is wanted after all
    unwantedPackages: [...UNWANTED_PACKAGES, ...(role?.unwantedPackages ?? [])].filter(
      (p) => !packages.includes(p),
    ),
    standIns: [...(role?.standIns ?? [])],
    // apt's ssh/rsh transports only call an SSH client, which the image never has.
    dpkgPathExcludes: [
      "/usr/share/doc/*",
      "/usr/share/man/*",
      "/usr/share/info/*",
      "/usr/share/locale/*",
      "/usr/lib/apt/methods/ssh",
      "/usr/lib/apt/methods/rsh",
    ],
    dpkgPathIncludes: ["/usr/share/doc/*/copyright", "/usr/share/locale/locale.alias"],
    removedPaths: [...(role?.removedPaths ?? [])],
    rootLocked: true,
    remoteRootLogin: false,
    stripSetuid: true,
    firewall,
    users,
    sysctl: DEFAULT_SYSCTL,
    loginDefs: DEFAULT_LOGIN_DEFS,
    modprobeDisabled: DEFAULT_MODPROBE_DISABLED,
    limits: LIMITS_CONF,
    shellProfile: SHELL_PROFILE,
    aptConf: APT_CONF,
    schedulerModes: SCHEDULER_MODES,
    banner: BANNER,
    files: SHIPPED_FILES,
  };
}

function resolveRole(role: unknown, issues: SpecIssue[]): RoleImage | undefined {
  if (role === undefined) return undefined;
  if (isServerRole(role)) return ROLE_IMAGES[role];
  issues.push({
    path: "role",
    received: JSON.stringify(role),
    allowed: `one of ${SERVER_ROLES.join(", ")}, or no role for the base image`,
    fix: "give the role the servers have in zeroroot:dataCenter.servers[].roles",
  });
  return undefined;
}

function resolvePackages(
  extra: readonly string[],
  issues: SpecIssue[],
  rolePackages: readonly string[],
): string[] {
  extra.forEach((p, i) => {
    const where = `extraPackages[${i}]`;
    if (typeof p !== "string" || !PACKAGE_NAME.test(p)) {
      issues.push({
        path: where,
        received: JSON.stringify(p),
        allowed: "a Debian package name ([a-z0-9][a-z0-9+.-]+)",
        fix: "use the binary package name as `apt-cache show` prints it",
      });
      return;
    }
    const reason = forbiddenReason(p);
    if (reason) {
      issues.push({
        path: where,
        received: p,
        allowed: `any package except ${FORBIDDEN_PACKAGES.map((f) => f.pattern).join(", ")}`,
        fix: `remove it: ${reason}`,
      });
    }
  });
  return [...new Set([...BASE_PACKAGES, ...rolePackages, ...extra])].sort();
}

function resolvePorts(
  key: string,
  ports: readonly number[],
  issues: SpecIssue[],
  rolePorts: readonly number[] = [],
): number[] {
  ports.forEach((p, i) => {
    const where = `${key}[${i}]`;
    if (!Number.isInteger(p) || p < 1 || p > 65535) {
      issues.push({
        path: where,
        received: JSON.stringify(p),
        allowed: "an integer port 1-65535",
        fix: "give the port number the platform service listens on",
      });
    } else if (REMOTE_LOGIN_PORTS[p]) {
      issues.push({
        path: where,
        received: String(p),
        allowed: `any port except ${Object.keys(REMOTE_LOGIN_PORTS).join(", ")} (remote login)`,
        fix: `remove it: zeroroot servers run no ${REMOTE_LOGIN_PORTS[p]} service (DESIGN.md invariant 1)`,
      });
    }
  });
  return [...new Set([...rolePorts, ...ports])].sort((a, b) => a - b);
}

/** zr-agent, the extra users, then the partition users; issues in that order, duplicates last. */
function resolveUsers(args: HardenedImageArgs, issues: SpecIssue[]): PlatformUser[] {
  const users: PlatformUser[] = [agentUser(args.agentCommand, issues)];
  (args.extraUsers ?? []).forEach((u, i) => users.push(extraUser(u, `extraUsers[${i}]`, issues)));
  addPartitionUsers(args.partitions ?? 0, users, issues);
  checkUnique(users, issues);
  return users;
}

function agentUser(command: string | undefined, issues: SpecIssue[]): PlatformUser {
  const agentCommand = command ?? IMAGE_PATHS.placeholderAgent;
  if (typeof agentCommand !== "string" || agentCommand.trim() === "" || /[\n\r]/.test(agentCommand)) {
    issues.push({
      path: "agentCommand",
      received: JSON.stringify(agentCommand),
      allowed: "a one-line command",
      fix: "give the agent's command line, e.g. `/usr/bin/node /opt/zeroroot/agent/agent.js`",
    });
  }
  return {
    ...AGENT_USER,
    home: homeOf(AGENT_USER.name),
    programs: [{ name: "zr-agent", command: agentCommand }],
  };
}

function extraUser(
  u: NonNullable<HardenedImageArgs["extraUsers"]>[number],
  where: string,
  issues: SpecIssue[],
): PlatformUser {
  if (typeof u.name !== "string" || !USER_NAME.test(u.name) || u.name === "root") {
    issues.push({
      path: `${where}.name`,
      received: JSON.stringify(u.name),
      allowed: "a user name [a-z][a-z0-9-]{0,30}, not root",
      fix: "name the account after the service instance, e.g. zr-p1",
    });
  }
  if (!Number.isInteger(u.uid) || u.uid < MIN_PLATFORM_UID || u.uid > MAX_PLATFORM_UID) {
    issues.push({
      path: `${where}.uid`,
      received: JSON.stringify(u.uid),
      allowed: `an integer ${MIN_PLATFORM_UID}-${MAX_PLATFORM_UID}`,
      fix: "platform users have fixed uids of 2000 and up",
    });
  }
  (u.programs ?? []).forEach((p, j) => {
    if (
      !PROGRAM_NAME.test(p.name) ||
      typeof p.command !== "string" ||
      p.command.trim() === "" ||
      /[\n\r]/.test(p.command)
    ) {
      issues.push({
        path: `${where}.programs[${j}]`,
        received: JSON.stringify(p),
        allowed: "{ name: [a-z0-9-], command: one line }",
        fix: "fix the program's name or command",
      });
    }
  });
  return { name: u.name, uid: u.uid, home: homeOf(u.name), programs: u.programs ?? [] };
}

function addPartitionUsers(partitions: number, users: PlatformUser[], issues: SpecIssue[]): void {
  if (!Number.isInteger(partitions) || partitions < 0 || partitions > MAX_PARTITIONS) {
    issues.push({
      path: "partitions",
      received: JSON.stringify(partitions),
      allowed: `an integer 0-${MAX_PARTITIONS}`,
      fix: "give the number of service instances a server may run (one partition user each)",
    });
    return;
  }
  const clash = users.find((u) => u.uid >= PARTITION_UID_BASE && u.uid < PARTITION_UID_BASE + partitions);
  if (clash)
    issues.push({
      path: "extraUsers",
      received: `${clash.name} (uid ${clash.uid})`,
      allowed: `uids outside the partition range ${PARTITION_UID_BASE}-${PARTITION_UID_BASE + partitions - 1}`,
      fix: "choose another uid, or fewer partitions",
    });
  else users.push(...partitionUsers(partitions));
}

function checkUnique(users: readonly PlatformUser[], issues: SpecIssue[]): void {
  users.forEach((u, i) => {
    const dupName = users.findIndex((o) => o.name === u.name);
    const dupUid = users.findIndex((o) => o.uid === u.uid);
    if (dupName !== i)
      issues.push({
        path: `extraUsers[${i - 1}].name`,
        received: u.name,
        allowed: "a name not used by another platform user (zr-agent is built in)",
        fix: "choose another name",
      });
    else if (dupUid !== i)
      issues.push({
        path: `extraUsers[${i - 1}].uid`,
        received: String(u.uid),
        allowed: `a uid not used by another platform user (${users[dupUid].name} has it)`,
        fix: "choose another uid",
      });
  });
}

const homeOf = (name: string) => `${IMAGE_PATHS.usersHome}/${name}`;
