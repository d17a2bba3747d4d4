/**
 * Rendering one instance for its partition's supervisord: the program sections (commands from the
 * signed release's templates, never from the desired state), and the release's configuration files.
 * Pure. Values substituted into a command may not contain whitespace, quotes or control characters:
 * supervisord splits commands itself (no shell), so a parameter could otherwise add arguments.
 */
import { createHash } from "node:crypto";
import type { InstanceSpec } from "../contracts/resources";
import type { PartitionPaths } from "../hardening/partitions";
import type { ReleaseManifest } from "../release";

export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RenderError";
  }
}

export interface RenderedFile {
  /** Path relative to the instance directory. */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

export interface RenderedInstance {
  /** The conf.d file of the partition's supervisord. */
  readonly conf: string;
  readonly files: readonly RenderedFile[];
  /** Program names as supervisord knows them. */
  readonly programs: readonly string[];
  /** sha256 over conf and files: unchanged means nothing to write or reload. */
  readonly digest: string;
}

export interface RenderInput {
  readonly spec: InstanceSpec;
  readonly manifest: ReleaseManifest;
  readonly paths: PartitionPaths;
  /** `<releasesDir>/<name>@<version>`. */
  readonly releaseDir: string;
}

export const CONF_FILE = "zeroroot-instance.conf";
/** Parameters whose name starts with this prefix steer the agent and are not passed to templates. */
export const AGENT_PARAMETER_PREFIX = "zeroroot.";

const SAFE_ARG = /^[A-Za-z0-9._:/=,@+%-]*$/;
const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

function valueOf(key: string, input: RenderInput): string | undefined {
  const { spec, manifest, paths } = input;
  if (key === "partition.user") return spec.partition.user;
  if (key === "partition.home") return paths.home;
  if (key === "instance.name") return spec.name;
  if (key === "release.dir") return input.releaseDir;
  if (key.startsWith("parameters.")) return spec.parameters[key.slice("parameters.".length)];
  if (key.startsWith("ports.")) {
    const p = manifest.ports.find((x) => x.name === key.slice("ports.".length));
    return p ? String(p.port) : undefined;
  }
  return undefined;
}

export function fillTemplate(
  template: string,
  input: RenderInput,
  where: string,
  forCommand: boolean,
): string {
  return template.replace(PLACEHOLDER, (_m, key: string) => {
    const v = valueOf(key, input);
    if (v === undefined)
      throw new RenderError(
        `${where}: {{${key}}} has no value; give parameter "${key.replace(/^parameters\./, "")}" in the instance's parameters`,
      );
    if (forCommand && !SAFE_ARG.test(v))
      throw new RenderError(
        `${where}: {{${key}}} = ${JSON.stringify(v)} cannot go into a command; allowed: letters, digits and . _ : / = , @ + % - (no spaces, quotes or control characters)`,
      );
    if (!forCommand && [...v].some((c) => c.charCodeAt(0) < 32 && c !== "\n" && c !== "\t"))
      throw new RenderError(`${where}: {{${key}}} contains control characters`);
    return v;
  });
}

/** supervisord interpolates %(name)s in values: a literal % is written %%. */
const conf = (v: string): string => v.replace(/%/g, "%%");

export function renderInstance(input: RenderInput): RenderedInstance {
  const { spec, manifest, paths } = input;
  const where = `instance ${spec.name} (release ${manifest.name} ${manifest.version})`;
  const env = [
    `HOME="${conf(paths.home)}"`,
    `USER="${spec.partition.user}"`,
    `LOGNAME="${spec.partition.user}"`,
    `ZR_INSTANCE="${spec.name}"`,
    `ZR_INSTANCE_DIR="${conf(paths.instanceDir)}"`,
  ].join(",");
  const sections = manifest.programs.map((p) => {
    const command = fillTemplate(p.command, input, `${where}: program ${p.name}: command`, true);
    if (/[\r\n]/.test(command)) throw new RenderError(`${where}: program ${p.name}: command spans lines`);
    return [
      `[program:${p.name}]`,
      `command=${conf(command)}`,
      `directory=${conf(paths.instanceDir)}`,
      "autostart=true",
      "autorestart=true",
      "startsecs=1",
      "startretries=3",
      "stopsignal=TERM",
      "stopwaitsecs=10",
      "stopasgroup=true",
      "killasgroup=true",
      "redirect_stderr=true",
      `stdout_logfile=${conf(paths.logDir)}/${p.name}.log`,
      "stdout_logfile_maxbytes=1MB",
      "stdout_logfile_backups=2",
      `environment=${env}`,
      "",
    ].join("\n");
  });
  const text = [
    `; zeroroot: instance ${spec.name}, release ${manifest.name} ${manifest.version}, partition ${spec.partition.user} (uid ${spec.partition.uid})`,
    "; rendered by the node agent from the signed release; do not edit",
    "",
    ...sections,
  ].join("\n");
  const files = manifest.configTemplates.map((t) => ({
    path: t.path,
    content: fillTemplate(t.template, input, `${where}: config ${t.path}`, false),
    mode: parseInt(t.mode ?? "0640", 8),
  }));
  const h = createHash("sha256").update(text);
  for (const f of files) h.update(`\0${f.path}\0${f.mode}\0${f.content}`);
  return {
    conf: text,
    files,
    programs: manifest.programs.map((p) => p.name),
    digest: `sha256:${h.digest("hex")}`,
  };
}

/** The per-instance switches the agent reads from the instance's parameters. */
export function agentSwitches(spec: InstanceSpec): { stopOnAnomaly: boolean } {
  return { stopOnAnomaly: spec.parameters[`${AGENT_PARAMETER_PREFIX}stopOnAnomaly`] === "true" };
}
