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
import { customOptions } from "../resource-options";

export const DESIRED_STATE_TYPE = resourceType("DesiredState");

export interface DesiredStateArgs {
  readonly computerId: string;
  readonly dataCenter: string;
  readonly instances: readonly InstanceSpec[];
  /** Lifetime of each signed document. @default 604800 (7 days) */
  readonly validitySeconds?: number;
  /** Client URLs of the control-plane members. */
  readonly controlPlaneEndpoints: pulumi.Input<readonly string[]>;
  /** The root the members' certificates chain to. */
  readonly rootCertificatePem: pulumi.Input<string>;
  /** @default 30 */
  readonly controlPlaneTimeoutSeconds?: number;
}

export type DesiredStateProps = DesiredStateInputs & {
  controlPlaneEndpoints: string[];
  rootCertificatePem: string;
  controlPlaneTimeoutSeconds: number;
};

export class DesiredState extends pulumi.CustomResource {
  declare public readonly version: pulumi.Output<number>;
  declare public readonly digest: pulumi.Output<string>;
  declare public readonly expiresAt: pulumi.Output<string>;
  /** The version the computer's agent last reported applying, at the last refresh. */
  declare public readonly acknowledgedVersion: pulumi.Output<number>;

  /** Data-holding computers get `protect` and `retainOnDelete` unless the caller sets them. */
  constructor(name: string, args: DesiredStateArgs, opts: pulumi.CustomResourceOptions = {}) {
    const holdsData = args.instances.some((i) => i.holdsData);
    super(
      DESIRED_STATE_TYPE,
      name,
      {
        computerId: args.computerId,
        dataCenter: args.dataCenter,
        instances: args.instances,
        validitySeconds: args.validitySeconds ?? RESOURCE_DEFAULTS.validitySeconds,
        controlPlaneEndpoints: args.controlPlaneEndpoints,
        rootCertificatePem: args.rootCertificatePem,
        controlPlaneTimeoutSeconds:
          args.controlPlaneTimeoutSeconds ?? RESOURCE_DEFAULTS.controlPlaneTimeoutSeconds,
        version: undefined,
        digest: undefined,
        issuedAt: undefined,
        expiresAt: undefined,
        signer: undefined,
        acknowledgedVersion: undefined,
      },
      customOptions("DesiredState", holdsData ? { protect: true, retainOnDelete: true, ...opts } : opts),
    );
  }
}
