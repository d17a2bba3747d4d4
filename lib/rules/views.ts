/**
 * Small normalised views the rules judge. The policy pack builds them from the inputs of zeroroot's
 * custom resources (lib/contracts/resources.ts); drift detection builds the same views from what it
 * observes on a live host (`hostViewFromObserved`). Pure: no I/O, no Pulumi.
 *
 * Conventions: a field that is `UNKNOWN` is not known yet and is never judged; a field that is
 * `undefined` is not part of this view (e.g. a DesiredState carries no package list).
 */
import { dynamicType, type ResourceKind } from "../contracts/resources";
import type { Maybe } from "./types";

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

/**
 * Any resource, of any provider, seen only by its type token: for rules that refuse whole resource
 * types (no-ssh refuses `command:remote:*`, which connects to machines over SSH).
 */
export interface ResourceTypeView {
  readonly ref: string;
  readonly source: "Resource";
  /** Pulumi type token, e.g. `command:remote:Command`. */
  readonly type: string;
}

export function resourceTypeViewOf(r: { readonly urn: string; readonly type: string }): ResourceTypeView {
  return { ref: r.urn, source: "Resource", type: r.type };
}

/** Resource kind of a Pulumi type token, or undefined when it is not one of zeroroot's resources. */
export function kindOfType(type: string): ResourceKind | undefined {
  for (const k of RESOURCE_KINDS) if (dynamicType(k) === type) return k;
  return undefined;
}
export const RESOURCE_KINDS: readonly ResourceKind[] = [
  "BmcServer",
  "BmcCredential",
  "HardenedImage",
  "RootCa",
  "IssuingCa",
  "Certificate",
  "SoftwareRelease",
  "DesiredState",
  "ControlPlane",
];

export { at } from "./view-access";
export * from "./host-views";
export * from "./resource-views";
export * from "./value-views";
