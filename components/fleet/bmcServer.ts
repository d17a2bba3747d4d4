/**
 * BmcServer: a server driven through its BMC and its site's services — netboot, install,
 * enrollment, boot from disk — by the provider plugin (provider/resources/bmcServer.ts), which reads
 * power and boot device back from the BMC on `pulumi refresh`. The BMC password is a secret input;
 * the operator's client certificate for the site API is read by the plugin where it runs
 * (ZEROROOT_OPERATOR_CERT / _KEY), so neither key nor path enters Pulumi state.
 */
import * as pulumi from "@pulumi/pulumi";
import { RESOURCE_DEFAULTS, resourceType, type BmcServerInputs } from "../../lib/contracts/resources";
import { customOptions } from "../resource-options";

export const BMC_SERVER_TYPE = resourceType("BmcServer");

export interface BmcServerArgs extends Omit<BmcServerInputs, "bmc"> {
  readonly bmc: Omit<BmcServerInputs["bmc"], "password"> & { readonly password: pulumi.Output<string> };
  /** https://address:port of the data center's site services. */
  readonly siteUrl: string;
  /** Name in the site's certificate. */
  readonly siteServerName: string;
  /** Root CA the site's certificate must chain to. */
  readonly rootCertificatePem: pulumi.Input<string>;
  /** @default 600 */
  readonly phaseTimeoutSeconds?: number;
}

export class BmcServer extends pulumi.CustomResource {
  /** Power the BMC reported at the last create, update or refresh. */
  declare public readonly observedPower: pulumi.Output<string>;
  /** Boot device the BMC reported at the last create, update or refresh. */
  declare public readonly observedBootDevice: pulumi.Output<string>;
  declare public readonly certificateSubject: pulumi.Output<string>;
  declare public readonly certificateIssuer: pulumi.Output<string>;
  declare public readonly certificateSerial: pulumi.Output<string>;
  declare public readonly agentUser: pulumi.Output<string>;

  constructor(name: string, args: BmcServerArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      BMC_SERVER_TYPE,
      name,
      {
        ...args,
        phaseTimeoutSeconds: args.phaseTimeoutSeconds ?? RESOURCE_DEFAULTS.phaseTimeoutSeconds,
        observedPower: undefined,
        observedBootDevice: undefined,
        certificateSubject: undefined,
        certificateIssuer: undefined,
        certificateSerial: undefined,
        agentUser: undefined,
        listeningTcpPorts: undefined,
      },
      customOptions("BmcServer", opts, ["bmc"]),
    );
  }
}
