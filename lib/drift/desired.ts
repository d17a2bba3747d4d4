/**
 * The desired side of drift detection: what the stacks want of each server, read from the
 * resources a stack program registers (evaluated the way `zeroroot policy check` does it, under the
 * SDK's mocks) and from the stack file itself (the line of each config key, so a finding points at
 * the key that causes it). Pure: the caller evaluates the stack and hands the resources over.
 */
import { RESOURCE_TYPES, SERVER_ROLES, type FirewallSpec, type ServerRole } from "../contracts/resources";
import { ROLE_IMAGES } from "../hardening/roles";
import type { BmcServerInputs, DesiredStateInputs, HardenedImageInputs } from "../contracts/resources";
import { joinPath } from "../fleet/issues";
import type { StackFile } from "../fleet/stack-file";
import { KEYS } from "../fleet/validate";
import { resolveDriftConfig, type DriftConfig } from "./config";

/** Where in a stack file a desired value comes from. */
export interface ConfigLocation {
  /** The stack file as the user named it (relative to the working directory when possible). */
  readonly file: string;
  /** Dotted config key path, e.g. `zeroroot:dataCenter.servers[0].bmc`. */
  readonly key: string;
  /** 1-based line of that key; absent when the key is not in the file (a default applies). */
  readonly line?: number;
}

export interface DesiredEndpoint {
  readonly port: number;
  readonly protocol: string;
  readonly tls: boolean;
  readonly requireClientCertificate: boolean;
  readonly location: ConfigLocation;
}

export interface DesiredInstance {
  readonly name: string;
  readonly release: { readonly name: string; readonly version: string };
  readonly partition: { readonly user: string; readonly uid: number };
  readonly endpoints: readonly DesiredEndpoint[];
  readonly holdsData: boolean;
  /** The service entry (`zeroroot:services[j]`) that places this instance. */
  readonly location: ConfigLocation;
  readonly releaseLocation: ConfigLocation;
}

/** One server as its stack wants it. */
export interface DesiredServer {
  readonly stack: string;
  readonly dataCenter: string;
  /** Computer id, e.g. "dc1-s01" (ObservedServer.server). */
  readonly server: string;
  readonly hostname: string;
  readonly address: string;
  /** URN of the server's BmcServer resource: the resource power and boot findings are about. */
  readonly urn: string;
  /** URN of its DesiredState resource (instances), when the stack registers one. */
  readonly desiredStateUrn?: string;
  /** URN of the data center's HardenedImage (packages, firewall), when registered. */
  readonly imageUrn?: string;
  /** Where the BMC is; never its credentials (the observers get those themselves). */
  readonly bmc: {
    readonly address: string;
    readonly port: number;
    readonly username: string;
    readonly cipherSuite: number;
  };
  readonly power: "on" | "off";
  readonly bootDevice: "disk" | "pxe";
  readonly instances: readonly DesiredInstance[];
  /** Control-plane client URLs the server's desired state is published to (its DesiredState's). */
  readonly controlPlaneEndpoints: readonly string[];
  /** The image's firewall (nftables) settings and packages. */
  readonly firewall?: HardenedImageInputs["firewall"];
  readonly packages?: readonly string[];
  /** SHA-256 of the nftables ruleset the desired state implies, when something computes it. */
  readonly nftablesSha256?: string;
  readonly drift: DriftConfig;
  /** The server's entry (`zeroroot:dataCenter.servers[i]`). */
  readonly location: ConfigLocation;
  readonly imageLocation: ConfigLocation;
  readonly driftLocation: ConfigLocation;
}

/** A resource as the stack program registered it (lab/stack-eval.ts EvaluatedResource). */
export interface RegisteredResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly inputs: Record<string, unknown>;
  readonly custom: boolean;
  /** The resource's provider reference (`<provider urn>::<id>`), when it has an explicit one. */
  readonly provider?: string;
}

type Segment = string | number;

/** A located config key: the deepest part of `path` present in the file gives the line. */
export function locateKey(
  file: Pick<StackFile, "locate">,
  shownFile: string,
  path: Segment[],
): ConfigLocation {
  const line = file.locate?.(path)?.line;
  return { file: shownFile, key: joinPath(path), ...(line !== undefined ? { line } : {}) };
}

/** The explicit zeroroot provider a resource uses, if any. */
const providerOf = (rs: readonly RegisteredResource[], r: RegisteredResource | undefined) =>
  r?.provider
    ? rs.find((p) => p.type === "pulumi:providers:zeroroot" && r.provider?.startsWith(`${p.urn}::`))
    : undefined;

const byType = (rs: readonly RegisteredResource[], type: string) =>
  rs.filter((r) => r.custom && r.type === type);

/** The SDK's secret wrapper, as captured under mocks: the value inside, never needed here. */
const plain = (v: unknown): unknown =>
  v && typeof v === "object" && "value" in v && "4dabf18193072939515e22adb298388d" in v
    ? (v as { value: unknown }).value
    : v;

/**
 * Every server of one data-center stack as it should be. A global stack (no `zeroroot:dataCenter`)
 * has no servers and yields none.
 */
export function desiredServersOf(
  stackFile: StackFile,
  resources: readonly RegisteredResource[],
  shownFile: string = stackFile.file,
): DesiredServer[] {
  const dc = stackFile.values[KEYS.dataCenter] as { servers?: { id?: unknown }[] } | undefined;
  if (!dc || typeof dc !== "object") return [];
  const servers = Array.isArray(dc.servers) ? dc.servers : [];
  const services = (stackFile.values[KEYS.services] ?? []) as { name?: unknown; release?: unknown }[];
  const drift = resolveDriftConfig(stackFile, shownFile);
  const at = (path: Segment[]) => locateKey(stackFile, shownFile, path);
  const image = byType(resources, RESOURCE_TYPES.HardenedImage)[0];
  const imageInputs = image?.inputs as Partial<HardenedImageInputs> | undefined;
  // Without an `image:` key the image is the project's default: no line of its own, so findings
  // about it fall back to the server's entry (the deepest written prefix would be the whole mapping).
  const imageLocation =
    (dc as { image?: unknown }).image !== undefined
      ? at([KEYS.dataCenter, "image"])
      : { file: shownFile, key: joinPath([KEYS.dataCenter, "image"]) };
  const states = new Map(
    byType(resources, RESOURCE_TYPES.DesiredState).map((r) => [
      String((r.inputs as Partial<DesiredStateInputs>).computerId),
      r,
    ]),
  );
  const out: DesiredServer[] = [];
  for (const r of byType(resources, RESOURCE_TYPES.BmcServer)) {
    const inputs = r.inputs as unknown as BmcServerInputs;
    const i = servers.findIndex((s) => s && s.id === inputs.serverId);
    const base: Segment[] = i >= 0 ? [KEYS.dataCenter, "servers", i] : [KEYS.dataCenter, "servers"];
    const state = states.get(inputs.serverId);
    const specs = ((state?.inputs as Partial<DesiredStateInputs> | undefined)?.instances ?? []) as
      DesiredStateInputs["instances"] | [];
    out.push({
      stack: stackFile.stack,
      dataCenter: inputs.dataCenter,
      server: inputs.serverId,
      hostname: inputs.hostname,
      address: addressOf(servers[i]),
      urn: r.urn,
      ...(state ? { desiredStateUrn: state.urn } : {}),
      ...(image ? { imageUrn: image.urn } : {}),
      bmc: bmcOf(inputs.bmc),
      // A DesiredState given its stack provider's control plane leaves it to the provider, which
      // holds it once (docs/provider.md, "Provider configuration").
      controlPlaneEndpoints: stringsOf(
        (state?.inputs as { controlPlaneEndpoints?: unknown } | undefined)?.controlPlaneEndpoints ??
          providerOf(resources, state)?.inputs.controlPlaneEndpoints,
      ),
      power: inputs.power,
      bootDevice: inputs.bootDevice,
      instances: specs.map((spec) => {
        const j = services.findIndex((s) => s && s.name === spec.name);
        const svc: Segment[] = j >= 0 ? [KEYS.services, j] : [KEYS.services];
        return {
          name: spec.name,
          release: { name: spec.release.name, version: spec.release.version },
          partition: { user: spec.partition.user, uid: spec.partition.uid },
          holdsData: spec.holdsData,
          endpoints: spec.endpoints.map((e, k) => ({
            port: e.port,
            protocol: e.protocol,
            tls: e.tls,
            requireClientCertificate: e.requireClientCertificate,
            location: at([...svc, "endpoints", k]),
          })),
          location: at(svc),
          releaseLocation: at([...svc, "release"]),
        };
      }),
      ...(imageInputs?.firewall ? { firewall: roleFirewall(imageInputs.firewall, servers[i]) } : {}),
      ...(imageInputs?.packages ? { packages: imageInputs.packages } : {}),
      drift,
      location: at(base),
      imageLocation,
      driftLocation: at([KEYS.drift]),
    });
  }
  return out;
}

/**
 * The firewall a server is installed with: the data center's image plus what each of its roles
 * opens (lib/hardening ROLE_IMAGES: a storage server's image admits its datastores' ports). The
 * stack registers the base image; the server boots the image of its role.
 */
function roleFirewall(base: FirewallSpec, server: unknown): FirewallSpec {
  const roles = (server as { roles?: unknown } | undefined)?.roles;
  const mine = (Array.isArray(roles) ? roles : []).filter((r): r is ServerRole =>
    (SERVER_ROLES as readonly unknown[]).includes(r),
  );
  const union = (own: readonly number[], of: (r: ServerRole) => readonly number[]) =>
    [...new Set([...own, ...mine.flatMap(of)])].sort((a, b) => a - b);
  return {
    inputPolicy: base.inputPolicy,
    allowedTcpPorts: union(base.allowedTcpPorts, (r) => ROLE_IMAGES[r].tcpPorts),
    allowedUdpPorts: union(base.allowedUdpPorts, (r) => ROLE_IMAGES[r].udpPorts),
  };
}

/**
 * Where the BMC is. The component hands `bmc` over as one secret when its password is one, so the
 * mocks capture the wrapper: its fields are read inside it (the password is never kept here).
 */
function bmcOf(raw: unknown): DesiredServer["bmc"] {
  const b = (plain(raw) ?? {}) as Partial<Record<keyof BmcServerInputs["bmc"], unknown>>;
  return {
    address: String(plain(b.address)),
    port: Number(plain(b.port)),
    username: String(plain(b.username)),
    cipherSuite: Number(plain(b.cipherSuite)),
  };
}

const addressOf = (s: unknown): string =>
  s && typeof s === "object" && typeof (s as { address?: unknown }).address === "string"
    ? (s as { address: string }).address
    : "";

const stringsOf = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
