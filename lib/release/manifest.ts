/**
 * The release manifest: everything a node needs to know about one version of one piece of software
 * before it runs it. validateManifest checks shape and meaning and names the first offending field.
 */
import { isReservedName } from "./json";
import { RELEASE_LIMITS } from "./limits";
import { ManifestError, list, obj, relPath, str, unique } from "./manifest-fields";
import { parseSemVer } from "./semver";

export { ManifestError };

export const RELEASE_KIND = "zeroroot.release/v1";
/** The only value a program's `user` may take: the node substitutes the instance's partition user. */
export const PARTITION_USER = "{{partition.user}}";
/** Placeholders a command or config template may use; the node agent fills them. */
export const PLACEHOLDERS = [
  "partition.user",
  "partition.home",
  "instance.name",
  "release.dir",
  "parameters.*",
  "ports.*",
] as const;

export interface ReleaseFile {
  /** Relative POSIX path inside the release directory, e.g. "bin/mariadbd". */
  readonly path: string;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
  readonly size: number;
  /** Octal permission string. @default - "0644" */
  readonly mode?: string;
}

export interface ReleasePackage {
  /** Debian package name; its bytes are checked by apt against the archive's signed index. */
  readonly name: string;
  /** Exact Debian version, e.g. "1:10.11.6-0+deb12u1". */
  readonly version: string;
  /** SHA-256 of the .deb, when the release pins the exact build. @default - none */
  readonly sha256?: string;
}

export interface ReleaseProgram {
  readonly name: string;
  /** Command template, e.g. "{{release.dir}}/bin/mariadbd --port={{ports.sql}}". */
  readonly command: string;
  /** Always PARTITION_USER: a release never names an account, and never root. */
  readonly user: typeof PARTITION_USER;
}

export interface ConfigTemplate {
  /** Relative path inside the partition where the rendered file goes. */
  readonly path: string;
  readonly template: string;
  /** @default - "0640" */
  readonly mode?: string;
}

export interface ReleasePort {
  /** Name used by templates as {{ports.<name>}}. */
  readonly name: string;
  readonly port: number;
  readonly protocol: "tcp" | "udp";
  readonly tls: boolean;
  readonly requireClientCertificate: boolean;
}

export interface ReleaseManifest {
  readonly kind: typeof RELEASE_KIND;
  /** Lower-case name, e.g. "mariadb-galera". */
  readonly name: string;
  /** Semantic version; a node never accepts a lower one than it last accepted for this name. */
  readonly version: string;
  readonly files: readonly ReleaseFile[];
  readonly packages: readonly ReleasePackage[];
  readonly programs: readonly ReleaseProgram[];
  readonly configTemplates: readonly ConfigTemplate[];
  readonly ports: readonly ReleasePort[];
  readonly holdsData: boolean;
  /** ISO-8601 UTC instant after which nodes refuse the release. */
  readonly notAfter: string;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const MODE = /^0[0-7]{3}$/;
const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;
const KEYS: readonly (keyof ReleaseManifest)[] = [
  "kind",
  "name",
  "version",
  "files",
  "packages",
  "programs",
  "configTemplates",
  "ports",
  "holdsData",
  "notAfter",
];

/** Checks a parsed manifest; returns it typed, or throws ManifestError (where, what, allowed, fix). */
export function validateManifest(m: unknown, where = "manifest"): ReleaseManifest {
  const o = obj(m, where);
  const extra = Object.keys(o).find((k) => !(KEYS as string[]).includes(k));
  if (extra) throw new ManifestError(`${where}.${extra}`, `unknown field; allowed: ${KEYS.join(", ")}`);
  if (o.kind !== RELEASE_KIND)
    throw new ManifestError(`${where}.kind`, `got ${JSON.stringify(o.kind)}; must be "${RELEASE_KIND}"`);
  str(o.name, `${where}.name`, NAME, "lower-case letters, digits, . _ - (e.g. mariadb-galera)");
  if (isReservedName(o.name as string))
    throw new ManifestError(`${where}.name`, `"${String(o.name)}" is reserved; choose another release name`);
  if (typeof o.version !== "string" || !parseSemVer(o.version)) {
    throw new ManifestError(
      `${where}.version`,
      `got ${JSON.stringify(o.version)}; must be a semantic version MAJOR.MINOR.PATCH[-pre][+build], e.g. 10.11.6`,
    );
  }
  // counts first: nothing below walks a list longer than its bound
  const files = list(o.files, `${where}.files`, RELEASE_LIMITS.files);
  const packages = list(o.packages, `${where}.packages`, RELEASE_LIMITS.packages);
  const portList = list(o.ports, `${where}.ports`, RELEASE_LIMITS.ports);
  const programs = list(o.programs, `${where}.programs`, RELEASE_LIMITS.programs);
  const templates = list(o.configTemplates, `${where}.configTemplates`, RELEASE_LIMITS.configTemplates);
  files.forEach((f, i) => checkFile(f, `${where}.files[${i}]`));
  packages.forEach((p, i) => checkPackage(p, `${where}.packages[${i}]`));
  const ports = portList.map((p, i) => checkPort(p, `${where}.ports[${i}]`));
  const portNames = new Set(ports);
  programs.forEach((p, i) => checkProgram(p, `${where}.programs[${i}]`, portNames));
  templates.forEach((t, i) => checkTemplate(t, `${where}.configTemplates[${i}]`, portNames));
  unique(files, "path", `${where}.files`);
  unique(packages, "name", `${where}.packages`);
  unique(portList, "name", `${where}.ports`);
  unique(programs, "name", `${where}.programs`);
  unique(templates, "path", `${where}.configTemplates`);
  if ((o.files as unknown[]).length + (o.packages as unknown[]).length === 0) {
    throw new ManifestError(
      `${where}.files`,
      "a release brings nothing; list files (with sha256) or Debian packages",
    );
  }
  if (typeof o.holdsData !== "boolean")
    throw new ManifestError(
      `${where}.holdsData`,
      `got ${JSON.stringify(o.holdsData)}; must be true or false`,
    );
  if (
    typeof o.notAfter !== "string" ||
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(o.notAfter) ||
    isNaN(Date.parse(o.notAfter))
  ) {
    throw new ManifestError(
      `${where}.notAfter`,
      `got ${JSON.stringify(o.notAfter)}; must be an ISO-8601 UTC instant, e.g. 2026-12-31T00:00:00Z`,
    );
  }
  return o as unknown as ReleaseManifest;
}

/** The placeholders used in a template, e.g. ["release.dir", "ports.sql"]. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

function checkFile(f: unknown, where: string): void {
  const o = obj(f, where);
  relPath(o.path, `${where}.path`);
  str(
    o.sha256,
    `${where}.sha256`,
    HEX64,
    "64 lower-case hex digits (sha256sum, or `zeroroot release digest`)",
  );
  if (!Number.isSafeInteger(o.size) || (o.size as number) < 0)
    throw new ManifestError(`${where}.size`, `got ${JSON.stringify(o.size)}; must be the file size in bytes`);
  if (o.mode !== undefined) str(o.mode, `${where}.mode`, MODE, 'an octal mode such as "0755"');
}

function checkPackage(p: unknown, where: string): void {
  const o = obj(p, where);
  str(o.name, `${where}.name`, /^[a-z0-9][a-z0-9+.-]+$/, "a Debian package name");
  str(
    o.version,
    `${where}.version`,
    /^[0-9A-Za-z.+~:-]+$/,
    'an exact Debian version, e.g. "1:10.11.6-0+deb12u1"',
  );
  if (o.sha256 !== undefined) str(o.sha256, `${where}.sha256`, HEX64, "64 lower-case hex digits");
}

function checkPort(p: unknown, where: string): string {
  const o = obj(p, where);
  str(o.name, `${where}.name`, /^[a-z][a-z0-9_]*$/, "a lower-case identifier used as {{ports.<name>}}");
  if (!Number.isSafeInteger(o.port) || (o.port as number) < 1024 || (o.port as number) > 65535) {
    throw new ManifestError(
      `${where}.port`,
      `got ${JSON.stringify(o.port)}; must be 1024-65535 (programs run unprivileged)`,
    );
  }
  if (o.protocol !== "tcp" && o.protocol !== "udp")
    throw new ManifestError(`${where}.protocol`, `got ${JSON.stringify(o.protocol)}; allowed: tcp, udp`);
  if (typeof o.tls !== "boolean" || typeof o.requireClientCertificate !== "boolean") {
    throw new ManifestError(where, "tls and requireClientCertificate must both be true or false");
  }
  if (o.requireClientCertificate && !o.tls)
    throw new ManifestError(`${where}.requireClientCertificate`, "client certificates need tls: true");
  return o.name as string;
}

function checkProgram(p: unknown, where: string, ports: Set<string>): void {
  const o = obj(p, where);
  str(o.name, `${where}.name`, /^[a-z0-9][a-z0-9_-]*$/, "lower-case letters, digits, _ -");
  if (o.user !== PARTITION_USER) {
    throw new ManifestError(
      `${where}.user`,
      `got ${JSON.stringify(o.user)}; a release never names an account (least of all root): write "${PARTITION_USER}"`,
    );
  }
  if (
    typeof o.command !== "string" ||
    o.command.trim() === "" ||
    o.command.length > RELEASE_LIMITS.commandLength
  )
    throw new ManifestError(
      `${where}.command`,
      `must be a non-empty command template of at most ${RELEASE_LIMITS.commandLength} characters`,
    );
  checkPlaceholders(o.command, `${where}.command`, ports);
}

function checkTemplate(t: unknown, where: string, ports: Set<string>): void {
  const o = obj(t, where);
  relPath(o.path, `${where}.path`);
  if (typeof o.template !== "string" || o.template.length > RELEASE_LIMITS.templateLength)
    throw new ManifestError(
      `${where}.template`,
      `must be the template text, at most ${RELEASE_LIMITS.templateLength} characters`,
    );
  if (o.mode !== undefined) str(o.mode, `${where}.mode`, MODE, 'an octal mode such as "0640"');
  checkPlaceholders(o.template, `${where}.template`, ports);
}

function checkPlaceholders(text: string, where: string, ports: Set<string>): void {
  for (const p of placeholdersOf(text)) {
    const ok =
      ["partition.user", "partition.home", "instance.name", "release.dir"].includes(p) ||
      /^parameters\.[A-Za-z0-9_]+$/.test(p) ||
      (p.startsWith("ports.") && ports.has(p.slice(6)));
    if (!ok)
      throw new ManifestError(
        where,
        `unknown placeholder {{${p}}}; allowed: ${PLACEHOLDERS.join(", ")} (ports.<name> of a declared port)`,
      );
  }
}
