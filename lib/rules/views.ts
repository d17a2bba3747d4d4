/**
 * Small normalised views the rules judge. The policy pack builds them from the inputs of zeroroot's
 * custom resources (lib/contracts/resources.ts); drift detection builds the same views from what it
 * observes on a live host (`hostViewFromObserved`). Pure: no I/O, no Pulumi.
 *
 * Conventions: a field that is `UNKNOWN` is not known yet and is never judged; a field that is
 * `undefined` is not part of this view (e.g. a DesiredState carries no package list).
 */
import { dynamicType, type ResourceKind } from "../contracts/resources";
import { UNKNOWN, type Maybe, type Unknown } from "./types";

/** A resource as the rules receive it: inputs with unknowns replaced by UNKNOWN, plus options. */
export interface ResourceRecord {
  readonly kind: ResourceKind;
  /** Stable identity for findings: the URN in the pack. */
  readonly ref: string;
  readonly name: string;
  /** Inputs (or state), plain JSON with UNKNOWN where a value is not known. */
  readonly props: Record<string, unknown>;
  /**
   * Paths (`bmc.password`, `instances[0].parameters.x`) of values that were Pulumi secrets, or
   * UNKNOWN when the caller cannot tell (then no finding depends on secretness).
   */
  readonly secretPaths: Maybe<ReadonlySet<string>>;
  /** `protect` resource option, UNKNOWN when not observable. */
  readonly protect: Maybe<boolean>;
  /**
   * `retainOnDelete` resource option. The analyzer protocol of Pulumi does not carry it, so under
   * `pulumi preview --policy-pack` it is always `undefined` (treated as not set).
   */
  readonly retainOnDelete?: boolean;
}

/** Resource kind of a Pulumi type token, or undefined when it is not one of zeroroot's resources. */
export function kindOfType(type: string): ResourceKind | undefined {
  for (const k of RESOURCE_KINDS) if (dynamicType(k) === type) return k;
  return undefined;
}
export const RESOURCE_KINDS: readonly ResourceKind[] = [
  "BmcServer",
  "HardenedImage",
  "RootCa",
  "IssuingCa",
  "Certificate",
  "SoftwareRelease",
  "DesiredState",
  "ControlPlane",
];

// ---- access helpers: tolerate UNKNOWN at any depth and malformed input ----

type Obj = Record<string, unknown>;
/** `o[key]`, UNKNOWN when `o` is UNKNOWN, undefined when `o` is not an object. */
export function at(o: unknown, key: string): unknown {
  if (o === UNKNOWN) return UNKNOWN;
  if (!o || typeof o !== "object" || Array.isArray(o)) return undefined;
  return (o as Obj)[key];
}
function list(v: unknown): Maybe<readonly unknown[]> | undefined {
  if (v === UNKNOWN) return UNKNOWN;
  return Array.isArray(v) ? v : undefined;
}
function str(v: unknown): Maybe<string> | undefined {
  return v === UNKNOWN ? UNKNOWN : typeof v === "string" ? v : undefined;
}
function num(v: unknown): Maybe<number> | undefined {
  return v === UNKNOWN ? UNKNOWN : typeof v === "number" ? v : undefined;
}
function bool(v: unknown): Maybe<boolean> | undefined {
  return v === UNKNOWN ? UNKNOWN : typeof v === "boolean" ? v : undefined;
}
function strs(v: unknown): Maybe<readonly Maybe<string>[]> | undefined {
  const l = list(v);
  if (l === UNKNOWN || l === undefined) return l as Unknown | undefined;
  return l.map((x): Maybe<string> => (x === UNKNOWN ? UNKNOWN : String(x)));
}
function nums(v: unknown): Maybe<readonly Maybe<number>[]> | undefined {
  const l = list(v);
  if (l === UNKNOWN || l === undefined) return l as Unknown | undefined;
  return l.map((x): Maybe<number> => (x === UNKNOWN ? UNKNOWN : Number(x)));
}
function mapList<T>(v: unknown, f: (item: unknown, i: number) => T): Maybe<readonly T[]> | undefined {
  const l = list(v);
  if (l === UNKNOWN || l === undefined) return l as Unknown | undefined;
  return l.map(f);
}

// ---- host view: hardened image, desired state, or a live host ----

export interface ProcessView {
  /** Where the process comes from, e.g. `programs[2]` or `instances[0].programs[1]`, or `pid 812`. */
  readonly path: string;
  readonly name?: Maybe<string>;
  readonly command?: Maybe<string>;
  readonly user?: Maybe<string>;
  readonly uid?: Maybe<number>;
  readonly capabilities?: Maybe<readonly Maybe<string>[]>;
  readonly noNewPrivileges?: Maybe<boolean>;
  /** Live hosts only; PID 1 (the init) is exempt from zero-root. */
  readonly pid?: number;
}

/** An account services run as (image users, instance partitions). */
export interface AccountView {
  readonly path: string;
  readonly user?: Maybe<string>;
  readonly uid?: Maybe<number>;
}

export interface ListeningView {
  readonly path: string;
  readonly port?: Maybe<number>;
  readonly protocol?: Maybe<string>;
  /** Endpoint of a platform service: TLS with a certificate from the hierarchy. */
  readonly tls?: Maybe<boolean>;
  readonly requireClientCertificate?: Maybe<boolean>;
}

export interface FirewallView {
  readonly inputPolicy?: Maybe<string>;
  readonly allowedTcpPorts?: Maybe<readonly Maybe<number>[]>;
  readonly allowedUdpPorts?: Maybe<readonly Maybe<number>[]>;
}

export interface HostView {
  readonly ref: string;
  readonly source: "HardenedImage" | "DesiredState" | "Host";
  /** Installed (or to-be-installed) package names. */
  readonly packages?: Maybe<readonly Maybe<string>[]>;
  /** Enabled service units (init scripts, systemd units) — live hosts. */
  readonly units?: Maybe<readonly Maybe<string>[]>;
  readonly processes?: Maybe<readonly ProcessView[]>;
  readonly accounts?: Maybe<readonly AccountView[]>;
  readonly listening?: Maybe<readonly ListeningView[]>;
  readonly firewall?: Maybe<FirewallView>;
  readonly remoteRootLogin?: Maybe<boolean>;
}

function processOf(p: unknown, path: string): ProcessView {
  return {
    path,
    name: str(at(p, "name")),
    command: str(at(p, "command")),
    user: str(at(p, "user")),
    uid: num(at(p, "uid")),
    capabilities: strs(at(p, "capabilities")),
    noNewPrivileges: bool(at(p, "noNewPrivileges")),
  };
}

/** The host an image describes: its packages, programs, users, firewall and login settings. */
export function hostViewOfImage(r: Pick<ResourceRecord, "ref" | "props">): HostView {
  const p = r.props;
  const fw = at(p, "firewall");
  return {
    ref: r.ref,
    source: "HardenedImage",
    packages: strs(at(p, "packages")),
    processes: mapList(at(p, "programs"), (x, i) => processOf(x, `programs[${i}]`)),
    accounts: mapList(at(p, "users"), (x, i) => ({
      path: `users[${i}]`,
      user: str(at(x, "name")),
      uid: num(at(x, "uid")),
    })),
    firewall:
      fw === UNKNOWN
        ? UNKNOWN
        : fw === undefined
          ? undefined
          : {
              inputPolicy: str(at(fw, "inputPolicy")),
              allowedTcpPorts: nums(at(fw, "allowedTcpPorts")),
              allowedUdpPorts: nums(at(fw, "allowedUdpPorts")),
            },
    remoteRootLogin: bool(at(p, "remoteRootLogin")),
  };
}

/** The part of a host one computer's desired state defines: instance programs, partitions, endpoints. */
export function hostViewOfDesiredState(r: Pick<ResourceRecord, "ref" | "props">): HostView {
  const instances = list(at(r.props, "instances"));
  if (instances === UNKNOWN)
    return { ref: r.ref, source: "DesiredState", processes: UNKNOWN, accounts: UNKNOWN, listening: UNKNOWN };
  const processes: ProcessView[] = [];
  const accounts: AccountView[] = [];
  const listening: ListeningView[] = [];
  // Known elements are judged even when siblings are unknown: a known violation is a violation.
  (instances ?? []).forEach((inst, i) => {
    if (inst === UNKNOWN) return;
    const base = `instances[${i}]`;
    const part = at(inst, "partition");
    accounts.push({ path: `${base}.partition`, user: str(at(part, "user")), uid: num(at(part, "uid")) });
    const progs = list(at(inst, "programs"));
    if (progs !== UNKNOWN)
      (progs ?? []).forEach((x, j) => processes.push(processOf(x, `${base}.programs[${j}]`)));
    const eps = list(at(inst, "endpoints"));
    if (eps !== UNKNOWN)
      (eps ?? []).forEach((e, j) =>
        listening.push({
          path: `${base}.endpoints[${j}]`,
          port: num(at(e, "port")),
          protocol: str(at(e, "protocol")),
          tls: bool(at(e, "tls")),
          requireClientCertificate: bool(at(e, "requireClientCertificate")),
        }),
      );
  });
  return { ref: r.ref, source: "DesiredState", processes, accounts, listening };
}

/** What drift detection observes on a live host (the agent's or a probe's report). */
export interface ObservedHost {
  readonly hostId: string;
  readonly packages?: readonly string[];
  readonly units?: readonly string[];
  readonly processes?: readonly {
    pid: number;
    name: string;
    command?: string;
    user?: string;
    uid: number;
    /** Effective capability names (e.g. from /proc/PID/status CapEff decoded). */
    capabilities: readonly string[];
    noNewPrivileges: boolean;
  }[];
  readonly accounts?: readonly { user: string; uid: number }[];
  readonly listening?: readonly {
    port: number;
    protocol: string;
    tls?: boolean;
    requireClientCertificate?: boolean;
  }[];
  readonly firewall?: {
    inputPolicy: string;
    allowedTcpPorts: readonly number[];
    allowedUdpPorts: readonly number[];
  };
  readonly remoteRootLogin?: boolean;
}

/** The same HostView the pack judges at preview, from a live host's observed state (invariant 8). */
export function hostViewFromObserved(h: ObservedHost): HostView {
  return {
    ref: h.hostId,
    source: "Host",
    packages: h.packages,
    units: h.units,
    processes: h.processes?.map((p) => ({ ...p, path: `pid ${p.pid}` })),
    accounts: h.accounts?.map((a, i) => ({ ...a, path: `accounts[${i}]` })),
    listening: h.listening?.map((l, i) => ({ ...l, path: `listening[${i}]` })),
    firewall: h.firewall,
    remoteRootLogin: h.remoteRootLogin,
  };
}

// ---- BMC ----

export interface BmcView {
  readonly ref: string;
  readonly serverId?: Maybe<string>;
  /** The suite zeroroot's client uses. */
  readonly cipherSuite?: Maybe<number>;
  /** Suites the BMC accepts (observed on live BMCs); suite 0 there is a finding too. */
  readonly enabledCipherSuites?: Maybe<readonly Maybe<number>[]>;
  readonly ipmiVersion?: Maybe<string>;
}

export function bmcViewOf(r: Pick<ResourceRecord, "ref" | "props">): BmcView {
  const bmc = at(r.props, "bmc");
  return {
    ref: r.ref,
    serverId: str(at(r.props, "serverId")),
    cipherSuite: num(at(bmc, "cipherSuite")),
    ipmiVersion: str(at(bmc, "ipmiVersion")),
  };
}

// ---- certificates ----

export interface CertificateView {
  readonly ref: string;
  readonly kind?: Maybe<string>;
  readonly keyType?: Maybe<string>;
  readonly validityDays?: Maybe<number>;
  readonly extendedKeyUsage?: Maybe<readonly Maybe<string>[]>;
}

export function certificateViewOf(r: Pick<ResourceRecord, "ref" | "props">): CertificateView {
  const p = r.props;
  return {
    ref: r.ref,
    kind: str(at(p, "kind")),
    keyType: str(at(p, "keyType")),
    validityDays: num(at(p, "validityDays")),
    extendedKeyUsage: strs(at(p, "extendedKeyUsage")),
  };
}

// ---- desired state: instances, persistence, spread, software ----

export interface InstanceView {
  readonly ref: string;
  readonly path: string;
  readonly computerId?: Maybe<string>;
  readonly dataCenter?: Maybe<string>;
  readonly name?: Maybe<string>;
  readonly release?: Maybe<{
    readonly name?: Maybe<string>;
    readonly version?: Maybe<string>;
    readonly manifestDigest?: Maybe<string>;
  }>;
  readonly holdsData?: Maybe<boolean>;
  readonly minimumPersistenceSeconds?: Maybe<number>;
}

export interface DesiredStateView {
  readonly ref: string;
  readonly computerId?: Maybe<string>;
  readonly dataCenter?: Maybe<string>;
  readonly protect: Maybe<boolean>;
  readonly retainOnDelete?: boolean;
  readonly instances: Maybe<readonly Maybe<InstanceView>[]>;
}

export function desiredStateViewOf(
  r: Pick<ResourceRecord, "ref" | "props" | "protect" | "retainOnDelete">,
): DesiredStateView {
  const p = r.props;
  const computerId = str(at(p, "computerId"));
  const dataCenter = str(at(p, "dataCenter"));
  const instances = mapList(at(p, "instances"), (inst, i): Maybe<InstanceView> => {
    if (inst === UNKNOWN) return UNKNOWN;
    const rel = at(inst, "release");
    return {
      ref: r.ref,
      path: `instances[${i}]`,
      computerId,
      dataCenter,
      name: str(at(inst, "name")),
      release:
        rel === UNKNOWN
          ? UNKNOWN
          : rel === undefined
            ? undefined
            : {
                name: str(at(rel, "name")),
                version: str(at(rel, "version")),
                manifestDigest: str(at(rel, "manifestDigest")),
              },
      holdsData: bool(at(inst, "holdsData")),
      minimumPersistenceSeconds: num(at(inst, "minimumPersistenceSeconds")),
    };
  });
  return {
    ref: r.ref,
    computerId,
    dataCenter,
    protect: r.protect,
    retainOnDelete: r.retainOnDelete,
    instances: instances ?? [],
  };
}

export interface ReleaseView {
  readonly ref: string;
  readonly name?: Maybe<string>;
  readonly version?: Maybe<string>;
  readonly manifestDigest?: Maybe<string>;
  readonly signerCertificatePem?: Maybe<string>;
  readonly signature?: Maybe<string>;
}

export function releaseViewOf(r: Pick<ResourceRecord, "ref" | "props">): ReleaseView {
  const p = r.props;
  return {
    ref: r.ref,
    name: str(at(p, "name")),
    version: str(at(p, "version")),
    manifestDigest: str(at(p, "manifestDigest")),
    signerCertificatePem: str(at(p, "signerCertificatePem")),
    signature: str(at(p, "signature")),
  };
}

/** A whole stack (or the union of stacks) for rules that judge relations between resources. */
export interface FleetView {
  readonly releases: readonly ReleaseView[];
  readonly desiredStates: readonly DesiredStateView[];
}

export function fleetViewOf(records: readonly ResourceRecord[]): FleetView {
  return {
    releases: records.filter((r) => r.kind === "SoftwareRelease").map(releaseViewOf),
    desiredStates: records.filter((r) => r.kind === "DesiredState").map(desiredStateViewOf),
  };
}

// ---- every string value of a resource, with its secretness (zero-password) ----

export interface ValueLeaf {
  /** `bmc.password`, `instances[0].parameters.adminToken`. */
  readonly path: string;
  /** The last key on the path (array indices skipped). */
  readonly key: string;
  readonly value: string;
  /** Whether the value was a Pulumi secret; UNKNOWN when the caller cannot tell. */
  readonly secret: Maybe<boolean>;
}

export interface ValuesView {
  readonly ref: string;
  readonly kind: ResourceKind;
  readonly leaves: readonly ValueLeaf[];
}

/** Joins a path segment the way `ValueLeaf.path` and `ResourceRecord.secretPaths` spell paths. */
export function joinPath(base: string, seg: string | number): string {
  if (typeof seg === "number") return `${base}[${seg}]`;
  return base ? `${base}.${seg}` : seg;
}

/** True when `path` or one of its ancestors is a secret path. */
export function isUnderSecret(path: string, secretPaths: ReadonlySet<string>): boolean {
  for (const s of secretPaths) {
    if (path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`)) return true;
  }
  return false;
}

/** Flattens every known string of a resource's inputs into leaves (numbers and booleans hold no secret). */
export function valuesViewOf(r: Pick<ResourceRecord, "ref" | "kind" | "props" | "secretPaths">): ValuesView {
  const leaves: ValueLeaf[] = [];
  const walk = (v: unknown, path: string, key: string): void => {
    if (v === UNKNOWN || v === null || v === undefined) return;
    if (typeof v === "string") {
      const secret = r.secretPaths === UNKNOWN ? UNKNOWN : isUnderSecret(path, r.secretPaths);
      leaves.push({ path, key, value: v, secret });
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, joinPath(path, i), key));
    else if (typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, joinPath(path, k), k);
  };
  walk(r.props, "", "");
  return { ref: r.ref, kind: r.kind, leaves };
}
