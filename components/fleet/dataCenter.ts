/**
 * A data center: its management server and its fleet servers, one `Server` child per inventory
 * entry. Takes plain, already-validated args (stacks/ validates config with lib/fleet), so the
 * number of children is known before any Output resolves.
 */
import * as pulumi from "@pulumi/pulumi";
import { Server, type ServerArgs } from "./server";

export const DATA_CENTER_TYPE = "zeroroot:fleet:DataCenter";

export interface DataCenterArgs {
  readonly name: string;
  /** The fleet's DNS domain; the data center's zone is `<name>.<domain>`. */
  readonly domain: string;
  readonly managementServer: {
    readonly id: string;
    readonly hostname: string;
    readonly managementAddress: string;
    readonly dataAddress: string;
  };
  /** TCP port of the site services on the management server. @default 8443 */
  readonly sitePort?: number;
  /** The platform's root certificate (from the global stack). */
  readonly rootCertificatePem: pulumi.Input<string>;
  /** The servers, without what the data center gives them (its name, site, root). */
  readonly servers: readonly Omit<ServerArgs, "dataCenter" | "site" | "rootCertificatePem">[];
  /** Every server's BMC credential is managed and rotated (docs/bmc.md). @default - none */
  readonly managedBmcCredential?: ServerArgs["managedBmcCredential"];
}

/**
 * The data center's site services as the operator reaches them: what its BmcServers use, and what a
 * stack gives its ZerorootProvider (components/provider.ts) so they are held once.
 */
export function siteOf(args: Pick<DataCenterArgs, "name" | "domain" | "managementServer" | "sitePort">): {
  url: string;
  serverName: string;
} {
  // Servers reach the site on the data network; the operator reaches it on the management network.
  return {
    url: `https://${args.managementServer.managementAddress}:${args.sitePort ?? 8443}`,
    serverName: `site.${args.name}.${args.domain}`,
  };
}

export class DataCenter extends pulumi.ComponentResource {
  declare public readonly name: pulumi.Output<string>;
  declare public readonly zone: pulumi.Output<string>;
  declare public readonly serverIds: pulumi.Output<string[]>;
  declare public readonly siteUrl: pulumi.Output<string>;
  public readonly servers: readonly Server[];

  constructor(name: string, args: DataCenterArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(DATA_CENTER_TYPE, name, {}, opts);
    this.name = pulumi.output(args.name);
    this.zone = pulumi.output(`${args.name}.${args.domain}`);
    // Child names are `<dc>-<server>`: ids already start with the data center's name, so drop it once.
    const role = (id: string) => (id.startsWith(`${args.name}-`) ? id.slice(args.name.length + 1) : id);
    const site = siteOf(args);
    this.servers = args.servers.map(
      (s) =>
        new Server(
          `${name}-${role(s.id)}`,
          {
            managedBmcCredential: args.managedBmcCredential,
            ...s,
            dataCenter: args.name,
            site,
            rootCertificatePem: args.rootCertificatePem,
          },
          { parent: this },
        ),
    );
    this.serverIds = pulumi.output(args.servers.map((s) => s.id));
    this.siteUrl = pulumi.output(site.url);
    this.registerOutputs({
      name: this.name,
      zone: this.zone,
      serverIds: this.serverIds,
      siteUrl: this.siteUrl,
    });
  }
}
