/**
 * Host views: what a hardened image, one computer's desired state, or a live host (drift detection)
 * says about packages, processes, accounts, listening sockets, firewall and login settings.
 */
import { UNKNOWN, type Maybe } from "./types";
import { at, bool, list, mapList, num, objectOf, str, strs, nums } from "./view-access";
import type { ResourceRecord } from "./views";

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
    firewall: objectOf(at(p, "firewall"), (fw) => ({
      inputPolicy: str(at(fw, "inputPolicy")),
      allowedTcpPorts: nums(at(fw, "allowedTcpPorts")),
      allowedUdpPorts: nums(at(fw, "allowedUdpPorts")),
    })),
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
