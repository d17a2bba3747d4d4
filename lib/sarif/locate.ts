/**
 * Which stack file key causes a finding about a resource: from the resource a stack program
 * registered (its type and inputs) and the offending field inside it, to the config key path, and
 * from there to its line (the deepest part of the path written in the file). A BmcServer's
 * `bmc.cipherSuite` is `zeroroot:dataCenter.servers[i].bmc.cipherSuite`; a DesiredState's
 * `instances[k].endpoints[e]` is the endpoint of the service that placed instance k; a
 * SoftwareRelease is its service's `release`; what the image build decides is `dataCenter.image`.
 */
import { RESOURCE_TYPES } from "../contracts/resources";
import { basename, dirname, relative, resolve, sep } from "node:path";
import { joinPath } from "../fleet/issues";
import { findProjectRoot } from "../fleet/project";
import type { StackFile } from "../fleet/stack-file";
import { KEYS } from "../fleet/validate";

type Segment = string | number;

export interface LocatedKey {
  readonly key: string;
  readonly line?: number;
}

export interface LocatableResource {
  readonly type: string;
  readonly urn: string;
  readonly inputs: Record<string, unknown>;
}

/** `instances[0].endpoints[1].port` → ["instances", 0, "endpoints", 1, "port"]. */
export function splitPath(path: string | undefined): Segment[] {
  if (!path) return [];
  const out: Segment[] = [];
  for (const part of path.split(".")) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const i of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(i[1]));
  }
  return out;
}

const list = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? (v as Record<string, unknown>[]).filter((x) => x && typeof x === "object") : [];

/** The config key path a field of a registered resource comes from. */
export function configPathOf(
  file: Pick<StackFile, "values">,
  r: LocatableResource,
  path?: string,
): Segment[] {
  const dc = file.values[KEYS.dataCenter] as Record<string, unknown> | undefined;
  const servers = list(dc?.servers);
  const services = list(file.values[KEYS.services]);
  const sub = splitPath(path);
  const serverAt = (id: unknown): Segment[] => {
    const i = servers.findIndex((s) => s.id === id);
    return i >= 0 ? [KEYS.dataCenter, "servers", i] : [KEYS.dataCenter, "servers"];
  };
  switch (r.type) {
    case RESOURCE_TYPES.BmcServer:
      return [...serverAt(r.inputs.serverId), ...sub];
    case RESOURCE_TYPES.DesiredState: {
      if (sub[0] !== "instances" || typeof sub[1] !== "number") return serverAt(r.inputs.computerId);
      const instance = list(r.inputs.instances)[sub[1]];
      const j = services.findIndex((s) => instance && s.name === instance.name);
      return j >= 0 ? [KEYS.services, j, ...sub.slice(2)] : serverAt(r.inputs.computerId);
    }
    case RESOURCE_TYPES.SoftwareRelease: {
      const ref = `${String(r.inputs.name)}@${String(r.inputs.version)}`;
      const j = services.findIndex((s) => s.release === ref);
      return j >= 0 ? [KEYS.services, j, "release"] : [KEYS.services];
    }
    case RESOURCE_TYPES.HardenedImage:
      return [KEYS.dataCenter, "image"];
    case "tls:index:SelfSignedCert":
    case "tls:index:PrivateKey":
      return [KEYS.global, "rootCa"];
    default:
      return [dc ? KEYS.dataCenter : KEYS.global];
  }
}

/** The key and its line (deepest written prefix); `line` absent when no part of it is written. */
export function locateResourceKey(
  file: Pick<StackFile, "values" | "locate">,
  r: LocatableResource | undefined,
  path?: string,
): LocatedKey {
  const dcOrGlobal = file.values[KEYS.dataCenter] !== undefined ? KEYS.dataCenter : KEYS.global;
  const segments = r ? configPathOf(file, r, path) : [dcOrGlobal];
  let line = file.locate?.(segments)?.line;
  // A key the stack leaves to its default (e.g. no `image:`) points at the mapping that would hold it.
  if (line === undefined) line = file.locate?.([dcOrGlobal])?.line;
  return { key: joinPath(segments), ...(line !== undefined ? { line } : {}) };
}

export interface LocatorSource {
  /** Path of the stack file as read. */
  readonly file: string;
  readonly resources: readonly LocatableResource[];
}

/** The stack a URN belongs to: `urn:pulumi:<stack>::<project>::…`. */
export const stackOfUrn = (urn: string | undefined): string | undefined =>
  urn ? /^urn:pulumi:([^:]+)::/.exec(urn)?.[1] : undefined;

/**
 * For `policy check --format sarif`: each violation's stack file (relative to the repository root),
 * line and key. Cross-stack violations find their stack from the URN; violations of the exemption
 * list point at that file's `EXEMPTIONS` declaration.
 */
export function violationLocator(
  sources: ReadonlyMap<string, LocatorSource>,
  relativeUri: (path: string) => string,
  readFile: (path: string) => StackFile,
  exemptions?: { readonly file: string; readonly text: string },
): (
  stack: string,
  v: { policy: string; urn?: string; path?: string },
) => { uri: string; line?: number; key?: string } | undefined {
  const files = new Map<string, StackFile>();
  const fileOf = (path: string) => {
    if (!files.has(path)) files.set(path, readFile(path));
    return files.get(path)!;
  };
  const exemptionsLine = exemptions
    ? exemptions.text.split("\n").findIndex((l) => /\bEXEMPTIONS\b.*=/.test(l)) + 1 || undefined
    : undefined;
  return (stack, v) => {
    if (v.policy === "exemptions" && exemptions)
      return {
        uri: relativeUri(exemptions.file),
        ...(exemptionsLine ? { line: exemptionsLine } : {}),
        key: "EXEMPTIONS",
      };
    const src = sources.get(stackOfUrn(v.urn) ?? stack) ?? sources.get(stack);
    if (!src) return undefined;
    let file: StackFile;
    try {
      file = fileOf(src.file);
    } catch {
      return { uri: relativeUri(src.file) };
    }
    const r = v.urn ? src.resources.find((x) => x.urn === v.urn) : undefined;
    const at = locateResourceKey(file, r, v.path);
    return { uri: relativeUri(src.file), ...at };
  };
}

/**
 * A stack file as a SARIF artifact URI: relative to the root of its project (the directory with
 * Pulumi.yaml, where code scanning resolves paths), or `stacks/<file>` (the project's layout) when
 * the file lies outside any project.
 */
export function repositoryUri(file: string): string {
  const abs = resolve(file);
  const root = findProjectRoot(dirname(abs));
  return root ? relative(root, abs).split(sep).join("/") : `stacks/${basename(abs)}`;
}
