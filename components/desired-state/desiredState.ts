/**
 * DesiredState: what one computer must run (its instances), signed and published at
 * `/computers/<id>/desired`. One resource per computer, never per instance, so 1,000 servers with
 * 100 instances each stay a few thousand resources.
 *
 * The provider plugin (provider/resources/desiredState.ts) takes the next version, signs the
 * document with the state signer named by ZEROROOT_STATE_SIGNER_CERT / _KEY where it runs (never in
 * state), writes it with the operator's identity, and on refresh reads the version published and
 * the version the node acknowledged. A document is long-lived (180 days by default); refresh reports
 * it once it is in its last quarter and the next update re-signs it. Its currency in between is
 * vouched for by the data center's timestamp service (docs/release.md, "Freshness").
 */
import * as pulumi from "@pulumi/pulumi";
import {
  RESOURCE_DEFAULTS,
  resourceType,
  type DesiredStateInputs,
  type InstanceSpec,
} from "../../lib/contracts/resources";
import { heldByProvider } from "../provider";
import { customOptions, rootReference } from "../resource-options";

export const DESIRED_STATE_TYPE = resourceType("DesiredState");

export interface DesiredStateArgs {
  readonly computerId: string;
  readonly dataCenter: string;
  readonly instances: readonly InstanceSpec[];
  /** Lifetime of each signed document. @default 604800 (7 days) */
  readonly validitySeconds?: number;
  /**
   * Client URLs of the control-plane members. Not recorded with the resource when the stack's
   * ZerorootProvider holds the same value (components/provider.ts): the plugin uses the provider's.
   */
  readonly controlPlaneEndpoints: pulumi.Input<readonly string[]>;
  /**
   * The root the members' certificates chain to: nothing recorded when it is the provider's own
   * (the same value), else its SHA-256 (the zeroroot provider holds the PEM).
   */
  readonly rootCertificatePem: pulumi.Input<string>;
  /** @default 30 */
  readonly controlPlaneTimeoutSeconds?: number;
}

export type DesiredStateProps = DesiredStateInputs & {
  controlPlaneEndpoints: string[];
  rootCertificateSha256: string;
  controlPlaneTimeoutSeconds: number;
};

const unlessDefault = (
  key: "validitySeconds" | "controlPlaneTimeoutSeconds",
  value: number | undefined,
): pulumi.Inputs => (value === undefined || value === RESOURCE_DEFAULTS[key] ? {} : { [key]: value });

/**
 * The published document's digest and the version the node acknowledged (`digest`,
 * `acknowledgedVersion`, `publishedVersion`, `renewalDue`) are outputs in state for refresh and
 * drift detection, not properties of this class.
 */
export class DesiredState extends pulumi.CustomResource {
  declare public readonly version: pulumi.Output<number>;
  declare public readonly expiresAt: pulumi.Output<string>;

  /** Data-holding computers get `protect` and `retainOnDelete` unless the caller sets them. */
  constructor(name: string, args: DesiredStateArgs, opts: pulumi.CustomResourceOptions = {}) {
    const holdsData = args.instances.some((i) => i.holdsData);
    const held = (fact: Parameters<typeof heldByProvider>[2], value: unknown) =>
      heldByProvider(DESIRED_STATE_TYPE, opts, fact, value);
    super(
      DESIRED_STATE_TYPE,
      name,
      {
        computerId: args.computerId,
        dataCenter: args.dataCenter,
        instances: args.instances,
        // Each property costs the program about four stack-captured promises in the SDK: what the
        // stack's provider holds is left to it, defaults to the plugin's check (state is the same),
        // and only outputs a program uses are registered.
        ...(held("controlPlaneEndpoints", args.controlPlaneEndpoints)
          ? {}
          : { controlPlaneEndpoints: args.controlPlaneEndpoints }),
        ...(held("rootCertificatePem", args.rootCertificatePem)
          ? {}
          : { rootCertificateSha256: rootReference(args.rootCertificatePem) }),
        ...unlessDefault("validitySeconds", args.validitySeconds),
        ...unlessDefault("controlPlaneTimeoutSeconds", args.controlPlaneTimeoutSeconds),
        version: undefined,
        expiresAt: undefined,
      },
      customOptions("DesiredState", holdsData ? { protect: true, retainOnDelete: true, ...opts } : opts),
    );
  }
}
