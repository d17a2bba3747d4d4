/**
 * Datastore views: what a release manifest, one computer's desired state, or a live host says about
 * the datastores it runs: engine, whether it holds data, endpoints, and the configuration files the
 * engine reads (pg_hba.conf, my.cnf, bootstrap SQL). The datastore rules judge these; a release gives
 * templates at preview, a live host the rendered files (drift).
 */
import {
  datastoreEngineOf,
  datastoreEngineOfPackages,
  type DatastoreEngine,
} from "../fleet/datastore-engines";
import type { ListeningView } from "./host-views";
import { UNKNOWN, type Maybe } from "./types";
import { at, bool, list, mapList, num, str } from "./view-access";
import type { ResourceRecord } from "./views";

export type { DatastoreEngine };

export interface ConfigFileView {
  /** Where the file comes from, e.g. `manifest.configTemplates[1]` or `datastores[0].configFiles[0]`. */
  readonly path: string;
  /** The file's path as the engine sees it (`etc/pg_hba.conf`). */
  readonly file?: Maybe<string>;
  readonly text?: Maybe<string>;
}

export interface DatastoreView {
  /** Where the datastore is inside the subject: `manifest`, `instances[0]`, `datastores[0]`. */
  readonly path: string;
  readonly name?: Maybe<string>;
  /** undefined: not a datastore (the rules skip it). */
  readonly engine: Maybe<DatastoreEngine | undefined>;
  readonly holdsData?: Maybe<boolean>;
  readonly endpoints?: Maybe<readonly ListeningView[]>;
  /** undefined when this source carries no configuration (a desired state: the release has it). */
  readonly configFiles?: Maybe<readonly ConfigFileView[]>;
}

export interface DatastoresView {
  readonly ref: string;
  readonly source: "SoftwareRelease" | "DesiredState" | "Host";
  readonly datastores: Maybe<readonly DatastoreView[]>;
}

function endpointOf(e: unknown, path: string): ListeningView {
  return {
    path,
    port: num(at(e, "port")),
    protocol: str(at(e, "protocol")),
    tls: bool(at(e, "tls")),
    requireClientCertificate: bool(at(e, "requireClientCertificate")),
  };
}

function engineOf(name: Maybe<string> | undefined, packages: unknown): Maybe<DatastoreEngine | undefined> {
  if (name === UNKNOWN) return UNKNOWN;
  const byName = name === undefined ? undefined : datastoreEngineOf(name);
  if (byName) return byName;
  const pkgs = list(packages);
  if (pkgs === UNKNOWN) return UNKNOWN;
  return datastoreEngineOfPackages(
    (pkgs ?? []).map((p) => str(at(p, "name"))).filter((n): n is string => typeof n === "string"),
  );
}

/** A SoftwareRelease's manifest: its ports and config templates, as every instance will get them. */
export function datastoresViewOfRelease(r: Pick<ResourceRecord, "ref" | "props">): DatastoresView {
  const m = at(r.props, "manifest");
  if (m === UNKNOWN) return { ref: r.ref, source: "SoftwareRelease", datastores: UNKNOWN };
  const name = str(at(m, "name")) ?? str(at(r.props, "name"));
  const view: DatastoreView = {
    path: "manifest",
    name,
    engine: engineOf(name, at(m, "packages")),
    holdsData: bool(at(m, "holdsData")),
    endpoints: mapList(at(m, "ports"), (p, i) => endpointOf(p, `manifest.ports[${i}]`)),
    configFiles: mapList(at(m, "configTemplates"), (t, i) => ({
      path: `manifest.configTemplates[${i}]`,
      file: str(at(t, "path")),
      text: str(at(t, "template")),
    })),
  };
  return { ref: r.ref, source: "SoftwareRelease", datastores: [view] };
}

/** One computer's desired state: each instance of a datastore release, with its endpoints. */
export function datastoresViewOfDesiredState(r: Pick<ResourceRecord, "ref" | "props">): DatastoresView {
  const datastores = mapList(at(r.props, "instances"), (inst, i): DatastoreView => {
    const name = str(at(at(inst, "release"), "name"));
    return {
      path: `instances[${i}]`,
      name: str(at(inst, "name")),
      engine:
        name === UNKNOWN || inst === UNKNOWN
          ? UNKNOWN
          : name === undefined
            ? undefined
            : datastoreEngineOf(name),
      holdsData: bool(at(inst, "holdsData")),
      endpoints: mapList(at(inst, "endpoints"), (e, j) => endpointOf(e, `instances[${i}].endpoints[${j}]`)),
    };
  });
  return { ref: r.ref, source: "DesiredState", datastores: datastores ?? [] };
}

/** What drift detection observes of one datastore instance on a live host. */
export interface ObservedDatastore {
  readonly name: string;
  readonly engine: DatastoreEngine;
  readonly holdsData?: boolean;
  readonly endpoints?: readonly {
    port: number;
    protocol?: string;
    tls?: boolean;
    requireClientCertificate?: boolean;
  }[];
  /** The rendered files the engine reads, as found on the host. */
  readonly configFiles?: readonly { file: string; text: string }[];
}

/** The same view the pack judges at preview, from a live host's datastores (invariant 8). */
export function datastoresViewFromObserved(
  hostId: string,
  observed: readonly ObservedDatastore[],
): DatastoresView {
  return {
    ref: hostId,
    source: "Host",
    datastores: observed.map((d, i) => ({
      path: `datastores[${i}]`,
      name: d.name,
      engine: d.engine,
      holdsData: d.holdsData,
      endpoints: d.endpoints?.map((e, j) => ({ ...e, path: `datastores[${i}].endpoints[${j}]` })),
      configFiles: d.configFiles?.map((f, j) => ({
        path: `datastores[${i}].configFiles[${j}]`,
        file: f.file,
        text: f.text,
      })),
    })),
  };
}

/** The datastores of a view that are known to be of `engine` (or any engine), skipping UNKNOWN ones. */
export function knownDatastores(v: DatastoresView, engine?: DatastoreEngine): DatastoreView[] {
  if (!Array.isArray(v.datastores)) return []; // UNKNOWN, or a view of another kind
  return v.datastores.filter(
    (d) => d.engine !== UNKNOWN && d.engine !== undefined && (engine === undefined || d.engine === engine),
  );
}

/** Known config files of a datastore whose file name matches `pattern`. */
export function configFilesOf(
  d: DatastoreView,
  pattern: RegExp,
): { path: string; file: string; text: string }[] {
  if (!d.configFiles || d.configFiles === UNKNOWN) return [];
  return d.configFiles.flatMap((f) =>
    typeof f.text === "string" && typeof f.file === "string" && pattern.test(f.file.split("/").pop() ?? "")
      ? [{ path: f.path, file: f.file, text: f.text }]
      : [],
  );
}
