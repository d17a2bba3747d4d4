/**
 * The hardened operating system as data: what the image contains, who runs in it, what its
 * firewall lets in. Pure. This file holds the fixed parts (paths, shipped files, base packages,
 * platform uids) and the types; `resolveHardenedImageSpec(args)` (resolve.ts) validates and
 * completes the arguments, `specHash(spec)` (derive.ts) names the image (the build cache key), and
 * `toHardenedImageInputs` (derive.ts) gives the shape the HardenedImage resource and the policy pack
 * read. Both are re-exported here.
 */
import type { FirewallSpec } from "../contracts/resources";
import type { ServerRole, StandInPackage } from "./roles";

/**
 * Bump when the build recipe (lab/image/build.ts applySpec) changes what it writes for the same
 * spec: everything the image contains must be either in the spec or covered by this number.
 */
export const IMAGE_RECIPE_VERSION = 4;

/** Where the platform's files live inside the image. */
export const IMAGE_PATHS = {
  init: "/usr/local/sbin/zr-init",
  initConfig: "/etc/zeroroot/init.json",
  placeholderAgent: "/usr/local/lib/zeroroot/placeholder-agent",
  /** PID 1's request handling (agents/init/init_requests.py), imported by zr-init. */
  initRequests: "/usr/local/lib/zeroroot/init_requests.py",
  /** PID 1's per-partition egress rules (agents/init/init_egress.py), imported by zr-init. */
  initEgress: "/usr/local/lib/zeroroot/init_egress.py",
  /**
   * Where the node agent writes a partition's egress rules (`<partition>.rules`) for PID 1 to
   * re-validate and load (in zr-agent's home: only the agent writes there).
   */
  egressRules: "/var/lib/zeroroot/zr-agent/egress",
  /** supervisord's pkg_resources stand-in (agents/init/pyshim), put on its path by PID 1. */
  initPyshim: "/usr/local/lib/zeroroot/pyshim/pkg_resources.py",
  /** What supervisord runs first from the same folder (less memory per partition; the file says why). */
  initPyshimSitecustomize: "/usr/local/lib/zeroroot/pyshim/sitecustomize.py",
  /** Where the node agent asks PID 1 for a partition's supervisord (tmpfs; root:zr-agent 0660). */
  initSocket: "/run/zeroroot/init.sock",
  nftables: "/etc/nftables.conf",
  sysctl: "/etc/sysctl.d/90-zeroroot.conf",
  modprobe: "/etc/modprobe.d/zeroroot.conf",
  limits: "/etc/security/limits.d/zeroroot.conf",
  shellProfile: "/etc/profile.d/zeroroot.sh",
  aptConf: "/etc/apt/apt.conf.d/99zeroroot",
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
    sha256: "c926a9acaea273cb73b38bb2b3e23ff3e08b9eac07feb4b10e3e6e191da32b06",
    mode: 0o755,
  },
  {
    path: IMAGE_PATHS.initRequests,
    source: "agents/init/init_requests.py",
    sha256: "49bc3664f8cf18e77f47cd1d929a996d079ec727edd86dec0d3156d617e1ac4d",
    mode: 0o644,
  },
  {
    path: IMAGE_PATHS.initEgress,
    source: "agents/init/init_egress.py",
    sha256: "a38dffbba558b536dee49fe45af09864ffcb46d8913ed0e46b59ffc8986ecd2b",
    mode: 0o644,
  },
  {
    path: IMAGE_PATHS.initPyshim,
    source: "agents/init/pyshim/pkg_resources.py",
    sha256: "aaa91ae41c8df3089d1ee7367898d2f9e39183bfa3c7383e15bab81864ca95b9",
    mode: 0o644,
  },
  {
    path: IMAGE_PATHS.initPyshimSitecustomize,
    source: "agents/init/pyshim/sitecustomize.py",
    sha256: "08e4ee9b8399ef994ac0f325825cac8a8a1065ec4eff61403c5cc27ad3d4e76e",
    mode: 0o644,
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
  /** The server role the image is for (roles.ts), or "base": what it carries beyond the base. */
  readonly role: ServerRole | "base";
  readonly suite: "bookworm";
  readonly variant: "minbase";
  /** Sorted, unique; installed on top of minbase. */
  readonly packages: readonly string[];
  /** Packages minbase would bring that the image must not have (the build avoids them). */
  readonly unwantedPackages: readonly string[];
  /** Empty packages installed in place of unwanted dependencies (roles.ts StandInPackage). */
  readonly standIns: readonly StandInPackage[];
  /** dpkg path excludes (documentation, manuals, translations) and re-includes. */
  readonly dpkgPathExcludes: readonly string[];
  readonly dpkgPathIncludes: readonly string[];
  /** Removed after the packages are installed (roles.ts RoleImage.removedPaths); checked absent. */
  readonly removedPaths: readonly string[];
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
  /** /etc/profile.d content: umask, no core dumps, idle shell timeout. */
  readonly shellProfile: string;
  /** /etc/apt/apt.conf.d content. */
  readonly aptConf: string;
  /** Modes of cron/at files and directories, applied to those that exist. */
  readonly schedulerModes: Readonly<Record<string, number>>;
  /** /etc/issue and /etc/issue.net. */
  readonly banner: string;
  readonly files: readonly ShippedFile[];
}

/** What a caller may choose; everything else is fixed by zeroroot. */
export interface HardenedImageArgs {
  /**
   * The role of the servers the image is for: adds the role's packages and opens its ports
   * (roles.ts ROLE_IMAGES). @default - "base": the base packages only, no port open
   */
  readonly role?: ServerRole;
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

/** The supervisord config path of a platform user, inside the image. */
export const supervisorDir = (user: PlatformUser) => `${user.home}/supervisor`;

// The old path keeps its exports. resolve.ts and derive.ts use this file's constants only when called,
// so the import cycle is harmless.
export { resolveHardenedImageSpec } from "./resolve";
export {
  ROLE_IMAGES,
  POSTGRESQL_PORT,
  isServerRole,
  SERVER_ROLES,
  type RoleImage,
  type ServerRole,
} from "./roles";
export { canonicalJson, programsOf, specHash, toHardenedImageInputs } from "./derive";
