/**
 * Views of single resources and of a whole stack: BMC servers, certificates, desired states (instances,
 * persistence, spread), software releases, and the fleet view rules over relations read.
 */
import { UNKNOWN, type Maybe } from "./types";
import { at, bool, mapList, num, objectOf, str, strs } from "./view-access";
import type { ResourceRecord } from "./views";

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
    return {
      ref: r.ref,
      path: `instances[${i}]`,
      computerId,
      dataCenter,
      name: str(at(inst, "name")),
      release: objectOf(at(inst, "release"), (rel) => ({
        name: str(at(rel, "name")),
        version: str(at(rel, "version")),
        manifestDigest: str(at(rel, "manifestDigest")),
      })),
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
