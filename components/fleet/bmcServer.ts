/**
 * BmcServer: a server driven through its BMC and its site's services — netboot, install,
 * enrollment, boot from disk — by the provider plugin (provider/resources/bmcServer.ts), which reads
 * power and boot device back from the BMC on `pulumi refresh`. The BMC password is a secret input;
 * the operator's client certificate for the site API is read by the plugin where it runs
 * (ZEROROOT_OPERATOR_CERT / _KEY), so neither key nor path enters Pulumi state.
 */
import * as pulumi from "@pulumi/pulumi";
import { RESOURCE_DEFAULTS, resourceType, type BmcServerInputs } from "../../lib/contracts/resources";
import { heldByProvider } from "../provider";
import { customOptions, rootReference } from "../resource-options";

export const BMC_SERVER_TYPE = resourceType("BmcServer");

export interface BmcServerArgs extends Omit<BmcServerInputs, "bmc"> {
  readonly bmc: Omit<BmcServerInputs["bmc"], "password" | "username"> & {
    /** The managed user (a BmcCredential output) or the inventory's. */
    readonly username: pulumi.Input<string>;
    readonly password: pulumi.Output<string>;
  };
  /**
   * https://address:port of the data center's site services. Not recorded with the resource when
   * the stack's ZerorootProvider holds the same site (components/provider.ts).
   */
  readonly siteUrl: string;
  /** Name in the site's certificate (not recorded when the provider holds the same site). */
  readonly siteServerName: string;
  /**
   * Root CA the site's certificate must chain to. The zeroroot provider must hold the PEM
   * (components/provider.ts, one per stack); the resource records nothing when it is the provider's
   * own root (the same value), else its SHA-256.
   */
  readonly rootCertificatePem: pulumi.Input<string>;
  /** @default 600 */
  readonly phaseTimeoutSeconds?: number;
}

/**
 * The properties registered. Each one costs the program about four stack-captured promises in the
 * SDK (docs/provider.md, "Cost of the program"), so: the site and the root are left to the stack's
 * zeroroot provider when it holds the same ones (else the root by reference), timeouts only when not
 * the default (the plugin's check fills it; state is the same), and only the outputs a program
 * composes with.
 */
function registered(args: BmcServerArgs, opts: pulumi.CustomResourceOptions): pulumi.Inputs {
  const { rootCertificatePem, phaseTimeoutSeconds, siteUrl, siteServerName, ...rest } = args;
  const held = (fact: Parameters<typeof heldByProvider>[2], value: unknown) =>
    heldByProvider(BMC_SERVER_TYPE, opts, fact, value);
  return {
    ...rest,
    ...(held("siteUrl", siteUrl) ? {} : { siteUrl }),
    ...(held("siteServerName", siteServerName) ? {} : { siteServerName }),
    ...(held("rootCertificatePem", rootCertificatePem)
      ? {}
      : { rootCertificateSha256: rootReference(rootCertificatePem) }),
    ...(phaseTimeoutSeconds !== undefined && phaseTimeoutSeconds !== RESOURCE_DEFAULTS.phaseTimeoutSeconds
      ? { phaseTimeoutSeconds }
      : {}),
    certificateSubject: undefined,
    certificateIssuer: undefined,
    agentUser: undefined,
  };
}

/**
 * What the BMC reported at the last create, update or refresh (`observedPower`,
 * `observedBootDevice`) and the certificate's serial are outputs in state (refresh, drift), not
 * properties of this class: a program learns nothing from them at registration time.
 */
export class BmcServer extends pulumi.CustomResource {
  declare public readonly certificateSubject: pulumi.Output<string>;
  declare public readonly certificateIssuer: pulumi.Output<string>;
  declare public readonly agentUser: pulumi.Output<string>;

  constructor(name: string, args: BmcServerArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(BMC_SERVER_TYPE, name, registered(args, opts), customOptions("BmcServer", opts, ["bmc"]));
  }
}
