/**
 * The hardened operating system as data: what the image contains, who runs in it, what its
 * firewall lets in. Pure: `resolveHardenedImageSpec(args)` validates and completes the arguments,
 * `specHash(spec)` names the image (the build cache key), `toHardenedImageInputs` gives the shape
 * the HardenedImage resource and the policy pack read.
 */
import { createHash } from "node:crypto";
import type { FirewallSpec, HardenedImageInputs, ProgramSpec } from "../contracts/resources";
import { HardeningSpecError, SpecIssue } from "./errors";
import { FORBIDDEN_PACKAGES, forbiddenReason } from "./forbidden";
import { MAX_PARTITIONS, PARTITION_UID_BASE, partitionUsers } from "./partitions";
import { BANNER, DEFAULT_LOGIN_DEFS, DEFAULT_MODPROBE_DISABLED, DEFAULT_SYSCTL, LIMITS_CONF } from "./tuning";

/**
 * Bump when the build recipe (lab/image/build.ts applySpec) changes what it writes for the same
 * spec: everything the image contains must be either in the spec or covered by this number.
 */
export const IMAGE_RECIPE_VERSION = 2;

/** Where the platform's files live inside the image. */
export const IMAGE_PATHS = {
  init: "/usr/local/sbin/zr-init",
  initConfig: "/etc/zeroroot/init.json",
  placeholderAgent: "/usr/local/lib/zeroroot/placeholder-agent",
  nftables: "/etc/nftables.conf",
  sysctl: "/etc/sysctl.d/90-zeroroot.conf",
  modprobe: "/etc/modprobe.d/zeroroot.conf",
  limits: "/etc/security/limits.d/zeroroot.conf",
  specFile: "/etc/zeroroot/image-spec.json",
  usersHome: "/var/lib/zeroroot",
  /** Ready marker written by PID 1 once every supervisord is started (tmpfs). */
  readyMarker: "/run/zeroroot/ready",
} as const;

/**
 * Files the image build copies from this repository, with their SHA-256. The digests are part of
 * the spec (and so of its hash): editing agents/init without updating them here is refused by the
 * image build and by test/unit/hardening, so a changed PID 1 can never hide behind a cached image.
 */
export const SHIPPED_FILES: readonly ShippedFile[] = [
  {
    path: IMAGE_PATHS.init,
    source: "agents/init/zr-init.py",
    sha256: "1ca09ccdfdc167eaa8133eeaf4d1c2ff3d952e17e62226ffecd703aa2d1cb0e2",
    mode: 0o755,
  },
  {
    path: IMAGE_PATHS.placeholderAgent,
    source: "agents/init/placeholder-agent.sh",
    sha256: "ed78b16198c5656ae5d6adda94ba7c8b05f394722226bf4784ac39c81cc0afc9",
    mode: 0o755,
  },
];

export interface ShippedFile {
  /** Absolute path inside the image. */
  readonly path: string;
  /** Path relative to the repository root. */
  readonly source: string;
  readonly sha256: string;
  readonly mode: number;
}

/** Packages every image has (on top of Debian's minbase). */
export const BASE_PACKAGES: readonly string[] = [
  "ca-certificates",
  "iproute2",
  "nftables",
  "nodejs",
  "passwd",
  "python3",
  "supervisor",
];

/** One program supervised by a platform user's supervisord. */
export interface SupervisedProgram {
  /** supervisord program name: [a-z0-9-]. */
  readonly name: string;
  /** Command line as supervisord runs it (no shell). */
  readonly command: string;
}

export interface PlatformUser {
  readonly name: string;
  readonly uid: number;
  /** @default - `/var/lib/zeroroot/<name>` */
  readonly home: string;
  readonly programs: readonly SupervisedProgram[];
  /**
   * A partition user (lib/hardening/partitions.ts): its supervisord's socket is group-accessible and
   * zr-agent is in its group. @default - not a partition
   */
  readonly partition?: true;
}

export interface HardenedFirewall extends FirewallSpec {
  readonly inputPolicy: "drop";
  /** ICMP echo request (and ICMPv6 neighbour discovery, which IPv6 needs) accepted. */
  readonly allowIcmpEcho: boolean;
}

/** The complete, validated specification of a hardened image. */
export interface HardenedImageSpec {
  readonly recipeVersion: number;
  readonly suite: "bookworm";
  readonly variant: "minbase";
  /** Sorted, unique; installed on top of minbase. */
  readonly packages: readonly string[];
  /** dpkg path excludes (documentation, manuals, translations) and re-includes. */
  readonly dpkgPathExcludes: readonly string[];
  readonly dpkgPathIncludes: readonly string[];
  readonly rootLocked: true;
  readonly remoteRootLogin: false;
  /** Remove setuid/setgid bits from every file: no platform process may gain privileges. */
  readonly stripSetuid: true;
  readonly firewall: HardenedFirewall;
  readonly users: readonly PlatformUser[];
  readonly sysctl: Readonly<Record<string, string>>;
  readonly loginDefs: Readonly<Record<string, string>>;
  readonly modprobeDisabled: readonly string[];
  /** /etc/security/limits.d content (core dumps off). */
  readonly limits: string;
  /** /etc/issue and /etc/issue.net. */
  readonly banner: string;
  readonly files: readonly ShippedFile[];
}

/** What a caller may choose; everything else is fixed by zeroroot. */
export interface HardenedImageArgs {
  /** Packages added to the base list. @default - none */
  readonly extraPackages?: readonly string[];
  /** TCP ports open to the network. Never 22. @default - none (the agent only connects out) */
  readonly allowedTcpPorts?: readonly number[];
  /** @default - none */
  readonly allowedUdpPorts?: readonly number[];
  /** @default true */
  readonly allowIcmpEcho?: boolean;
  /**
   * Command of the node agent run by `zr-agent`'s supervisord.
   * @default - the placeholder agent shipped in agents/init (a heartbeat loop)
   */
  readonly agentCommand?: string;
  /** Further platform users (uid >= 2000, unique), each with its own supervisord. @default - none */
  readonly extraUsers?: readonly { name: string; uid: number; programs?: readonly SupervisedProgram[] }[];
  /**
   * Number of pre-created partition users `zr-p000`… (uids 2100+), one per service instance a server
   * may run, each with its own supervisord driven by the node agent. At most 1000.
   * @default 0
   */
  readonly partitions?: number;
}

export const AGENT_USER = { name: "zr-agent", uid: 2000 } as const;
export const MIN_PLATFORM_UID = 2000;
export const MAX_PLATFORM_UID = 59999;
/** Ports of remote-login services: never opened, whatever the arguments say. */
export const REMOTE_LOGIN_PORTS: Readonly<Record<number, string>> = {
  22: "ssh",
  23: "telnet",
  513: "rlogin",
  514: "rsh",
};

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const USER_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const PROGRAM_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Validates the arguments and returns the complete spec, or throws listing every problem. */
export function resolveHardenedImageSpec(args: HardenedImageArgs = {}): HardenedImageSpec {
  const issues: SpecIssue[] = [];
  const packages = resolvePackages(args.extraPackages ?? [], issues);
  const firewall: HardenedFirewall = {
    inputPolicy: "drop",
    allowedTcpPorts: resolvePorts("allowedTcpPorts", args.allowedTcpPorts ?? [], issues),
    allowedUdpPorts: resolvePorts("allowedUdpPorts", args.allowedUdpPorts ?? [], issues),
    allowIcmpEcho: args.allowIcmpEcho ?? true,
  };
  const users = resolveUsers(args, issues);
  if (issues.length > 0) throw new HardeningSpecError(issues);
  return {
    recipeVersion: IMAGE_RECIPE_VERSION,
    suite: "bookworm",
    variant: "minbase",
    packages,
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
    rootLocked: true,
    remoteRootLogin: false,
    stripSetuid: true,
    firewall,
    users,
    sysctl: DEFAULT_SYSCTL,
    loginDefs: DEFAULT_LOGIN_DEFS,
    modprobeDisabled: DEFAULT_MODPROBE_DISABLED,
    limits: LIMITS_CONF,
    banner: BANNER,
    files: SHIPPED_FILES,
  };
}

function resolvePackages(extra: readonly string[], issues: SpecIssue[]): string[] {
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
  return [...new Set([...BASE_PACKAGES, ...extra])].sort();
}

function resolvePorts(key: string, ports: readonly number[], issues: SpecIssue[]): number[] {
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
  return [...new Set(ports)].sort((a, b) => a - b);
}

function resolveUsers(args: HardenedImageArgs, issues: SpecIssue[]): PlatformUser[] {
  const agentCommand = args.agentCommand ?? IMAGE_PATHS.placeholderAgent;
  if (typeof agentCommand !== "string" || agentCommand.trim() === "" || /[\n\r]/.test(agentCommand)) {
    issues.push({
      path: "agentCommand",
      received: JSON.stringify(agentCommand),
      allowed: "a one-line command",
      fix: "give the agent's command line, e.g. `/usr/bin/node /opt/zeroroot/agent/agent.js`",
    });
  }
  const users: PlatformUser[] = [
    { ...AGENT_USER, home: homeOf(AGENT_USER.name), programs: [{ name: "zr-agent", command: agentCommand }] },
  ];
  (args.extraUsers ?? []).forEach((u, i) => {
    const where = `extraUsers[${i}]`;
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
    users.push({ name: u.name, uid: u.uid, home: homeOf(u.name), programs: u.programs ?? [] });
  });
  const partitions = args.partitions ?? 0;
  if (!Number.isInteger(partitions) || partitions < 0 || partitions > MAX_PARTITIONS) {
    issues.push({
      path: "partitions",
      received: JSON.stringify(partitions),
      allowed: `an integer 0-${MAX_PARTITIONS}`,
      fix: "give the number of service instances a server may run (one partition user each)",
    });
  } else {
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
  return users;
}

const homeOf = (name: string) => `${IMAGE_PATHS.usersHome}/${name}`;

/** The supervisord config path of a platform user, inside the image. */
export const supervisorDir = (user: PlatformUser) => `${user.home}/supervisor`;

/** Canonical JSON (sorted keys) so that equal specs hash equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The image's name: SHA-256 (hex) of the canonical spec. Independent of the data center: the
 * three data centers share one image, and one cache entry.
 */
export function specHash(spec: HardenedImageSpec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex");
}

/** Every program PID 1 starts (one supervisord per user) and what each supervisord runs. */
export function programsOf(spec: HardenedImageSpec): ProgramSpec[] {
  return spec.users.flatMap((u) => [
    {
      name: `supervisord-${u.name}`,
      command: `/usr/bin/supervisord --nodaemon --configuration ${supervisorDir(u)}/supervisord.conf`,
      user: u.name,
      uid: u.uid,
      capabilities: [],
      noNewPrivileges: true,
    },
    ...u.programs.map((p) => ({
      name: p.name,
      command: p.command,
      user: u.name,
      uid: u.uid,
      capabilities: [],
      noNewPrivileges: true,
    })),
  ]);
}

/** The HardenedImage resource's inputs for one data center. */
export function toHardenedImageInputs(spec: HardenedImageSpec, dataCenter: string): HardenedImageInputs {
  return {
    dataCenter,
    packages: spec.packages,
    rootLocked: spec.rootLocked,
    remoteRootLogin: spec.remoteRootLogin,
    firewall: {
      inputPolicy: spec.firewall.inputPolicy,
      allowedTcpPorts: spec.firewall.allowedTcpPorts,
      allowedUdpPorts: spec.firewall.allowedUdpPorts,
    },
    users: spec.users.map((u) => ({ name: u.name, uid: u.uid })),
    programs: programsOf(spec),
    specHash: specHash(spec),
  };
}
