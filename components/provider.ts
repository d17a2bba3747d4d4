/**
 * The zeroroot provider of a stack, explicit: its inputs are the plugin's configuration (Configure),
 * held once in the provider's own state. That is what every resource of a data center shares: the
 * platform root certificate (to trust a site, the control plane, a release's chain), the control
 * plane's client URLs (every DesiredState) and the data center's site services (every BmcServer).
 * A resource given the same value the provider holds leaves it out of its own inputs
 * (`heldByProvider`), and the plugin fills it in (provider/config.ts): state holds it once, and the
 * program registers fewer properties per resource (docs/provider.md, "Provider configuration").
 * Give it to the stack's zeroroot resources with `{provider}` (custom resources) or
 * `{providers: [provider]}` (components).
 *
 * @example
 * const zeroroot = new ZerorootProvider("dc1", { rootCertificatePem, controlPlaneEndpoints, site });
 * new DataCenter("dc1", args, { providers: [zeroroot] });
 */
import * as pulumi from "@pulumi/pulumi";

export interface ZerorootProviderArgs {
  /** The platform root certificate (PEM), e.g. the global stack's `rootCertificatePem` output. */
  readonly rootCertificatePem: pulumi.Input<string>;
  /**
   * Client URLs of the control-plane members: every DesiredState given the same value uses these,
   * and `pulumi import` finds a DesiredState or a SoftwareRelease by id alone.
   * @default - none: those imports are refused, saying so
   */
  readonly controlPlaneEndpoints?: pulumi.Input<readonly string[]>;
  /**
   * The data center's site services (`siteOf` in components/fleet/dataCenter.ts): every BmcServer
   * given the same site uses these. @default - none: each BmcServer carries its own
   */
  readonly site?: { readonly url: string; readonly serverName: string };
}

/** What each explicit provider of this program was given, by provider. */
const configurations = new WeakMap<pulumi.ProviderResource, ZerorootProviderArgs>();

export class ZerorootProvider extends pulumi.ProviderResource {
  constructor(name: string, args: ZerorootProviderArgs, opts: pulumi.ResourceOptions = {}) {
    super(
      "zeroroot",
      name,
      {
        rootCertificatePem: args.rootCertificatePem,
        controlPlaneEndpoints: args.controlPlaneEndpoints,
        siteUrl: args.site?.url,
        siteServerName: args.site?.serverName,
      },
      opts,
    );
    configurations.set(this, args);
  }
}

type Fact = "rootCertificatePem" | "controlPlaneEndpoints" | "siteUrl" | "siteServerName";

const factOf = (c: ZerorootProviderArgs, fact: Fact): unknown =>
  fact === "siteUrl" ? c.site?.url : fact === "siteServerName" ? c.site?.serverName : c[fact];

/** Same value: the same string, the same Output object, or plain lists of the same strings. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return (
    Array.isArray(a) &&
    Array.isArray(b) &&
    a.length === b.length &&
    a.every((x, i) => typeof x === "string" && x === b[i])
  );
}

/**
 * Whether the explicit ZerorootProvider this resource will use holds `value` as `fact`, so the
 * resource can leave it out (the plugin fills it in). Decided when the resource is constructed, as
 * the number of properties it registers must be: an Output counts as the same only when it is the
 * very object the provider was given (stacks/program.ts hands both the same one); anything else is
 * registered with the resource, as before, and works with or without a provider.
 */
export function heldByProvider(
  type: string,
  opts: pulumi.CustomResourceOptions,
  fact: Fact,
  value: unknown,
): boolean {
  const provider = opts.provider ?? opts.parent?.getProvider(type);
  const config = provider ? configurations.get(provider) : undefined;
  return config !== undefined && value !== undefined && same(factOf(config, fact), value);
}
