/**
 * The zeroroot provider of a stack, explicit: its inputs are the plugin's configuration (Configure),
 * held once in the provider's own state. Today that is the platform root certificate, which every
 * zeroroot resource needs (to trust a site, the control plane, a release's chain) and records only
 * by SHA-256 (provider/config.ts). Give it to the stack's zeroroot resources with
 * `{provider}` (custom resources) or `{providers: [provider]}` (components).
 *
 * @example
 * const zeroroot = new ZerorootProvider("dc1", { rootCertificatePem });
 * new DataCenter("dc1", args, { providers: [zeroroot] });
 */
import * as pulumi from "@pulumi/pulumi";

export interface ZerorootProviderArgs {
  /** The platform root certificate (PEM), e.g. the global stack's `rootCertificatePem` output. */
  readonly rootCertificatePem: pulumi.Input<string>;
  /**
   * Client URLs of the control-plane members: lets `pulumi import` find a DesiredState or a
   * SoftwareRelease by id alone. @default - none: those imports are refused, saying so
   */
  readonly controlPlaneEndpoints?: pulumi.Input<readonly string[]>;
}

export class ZerorootProvider extends pulumi.ProviderResource {
  constructor(name: string, args: ZerorootProviderArgs, opts: pulumi.ResourceOptions = {}) {
    super(
      "zeroroot",
      name,
      { rootCertificatePem: args.rootCertificatePem, controlPlaneEndpoints: args.controlPlaneEndpoints },
      opts,
    );
  }
}
