/**
 * Which rule of lib/rules judges which view of which resources: the pack's bindings. Resource bindings
 * judge one resource at a time; stack bindings judge views of the whole stack.
 */
import {
  bmc,
  bmcViewOf,
  certificate,
  certificateViewOf,
  datastoreClientCertificates,
  datastoresViewOfDesiredState,
  datastoresViewOfRelease,
  encryptionAtRest,
  mariadbCertificateUsers,
  pgHbaCertOnly,
  desiredStateViewOf,
  fleetViewOf,
  hostViewOfDesiredState,
  hostViewOfImage,
  mutualTls,
  resourceTypeViewOf,
  noSsh,
  persistence,
  perUserEgress,
  perUserEgressViewOfDesiredState,
  signedSoftware,
  spread,
  valuesViewOf,
  zeroPassword,
  zeroRoot,
  type ResourceRecord,
  type Rule,
} from "../lib/rules";
import type { ResourceKind } from "../lib/contracts/resources";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRule = Rule<any, any>;
export interface ResourceBinding {
  readonly rule: AnyRule;
  readonly policy?: string;
  readonly kinds: readonly ResourceKind[] | "all";
  readonly view: (r: ResourceRecord) => unknown;
  /** View of a resource that is not zeroroot's (any provider), for rules that judge those too. */
  readonly foreignView?: (r: { urn: string; type: string }) => unknown;
  readonly fixedConfig?: Record<string, unknown>;
}
export interface StackBinding {
  readonly rule: AnyRule;
  readonly policy?: string;
  /** Views of the whole stack, each with the records it covers. */
  readonly views: (rs: readonly ResourceRecord[]) => unknown[];
  readonly fixedConfig?: Record<string, unknown>;
}

/** Datastores of a release (its manifest's ports and templates) or of a desired state (its instances). */
const datastoresView = (r: ResourceRecord) =>
  r.kind === "SoftwareRelease" ? datastoresViewOfRelease(r) : datastoresViewOfDesiredState(r);
const DATASTORE_KINDS: readonly ResourceKind[] = ["SoftwareRelease", "DesiredState"];

const hostView = (r: ResourceRecord) =>
  r.kind === "HardenedImage" ? hostViewOfImage(r) : hostViewOfDesiredState(r);

export const RESOURCE_BINDINGS: readonly ResourceBinding[] = [
  { rule: zeroRoot, kinds: ["HardenedImage", "DesiredState"], view: hostView },
  {
    rule: noSsh,
    kinds: ["HardenedImage", "DesiredState"],
    view: hostView,
    // @pulumi/command's remote resources connect to machines over SSH.
    foreignView: resourceTypeViewOf,
  },
  { rule: zeroPassword, kinds: "all", view: valuesViewOf },
  { rule: mutualTls, kinds: ["DesiredState"], view: hostViewOfDesiredState },
  { rule: certificate, kinds: ["Certificate"], view: certificateViewOf },
  { rule: bmc, kinds: ["BmcServer"], view: bmcViewOf },
  { rule: persistence, kinds: ["DesiredState"], view: desiredStateViewOf },
  { rule: datastoreClientCertificates, kinds: DATASTORE_KINDS, view: datastoresView },
  { rule: pgHbaCertOnly, kinds: DATASTORE_KINDS, view: datastoresView },
  { rule: mariadbCertificateUsers, kinds: DATASTORE_KINDS, view: datastoresView },
  { rule: encryptionAtRest, kinds: DATASTORE_KINDS, view: datastoresView },
  { rule: perUserEgress, kinds: ["DesiredState"], view: perUserEgressViewOfDesiredState },
];

export const STACK_BINDINGS: readonly StackBinding[] = [
  { rule: signedSoftware, views: (rs) => [fleetViewOf(rs)] },
  { rule: spread, views: (rs) => [fleetViewOf(rs)] },
  {
    // At the end of an update the stack policies see outputs: a private key a provider returned.
    rule: zeroPassword,
    policy: "zero-password-state",
    views: (rs) => rs.map(valuesViewOf),
    fixedConfig: { checkPlaintextSecrets: false, checkPrivateKeys: true },
  },
];
