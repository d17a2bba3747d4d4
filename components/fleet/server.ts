/**
 * One bare-metal server of a data center: its identity in the graph and a BmcServer child that
 * installs, enrolls and boots it through its BMC and its site (no SSH). The BMC password is only
 * ever held as a Pulumi secret.
 *
 * Lifecycle: a server is powered off only by an explicit decommission. Its BmcServer is
 * `retainOnDelete` (dropping it from the program forgets it, the machine keeps running) and, when
 * it holds data, `protect`ed as well; `decommission: true` lifts both and powers it off, so the
 * entry can then be removed (docs/fleet.md, "Lifecycle").
 */
import * as pulumi from "@pulumi/pulumi";
import type { CipherSuite } from "../../lib/contracts/resources";
import type { ServerRole } from "../../lib/fleet";
import { managedBmcCredential, type ManagedBmcCredentialArgs } from "./bmcCredential";
import { BmcServer } from "./bmcServer";

export const SERVER_TYPE = "zeroroot:fleet:Server";

export interface ServerBmcArgs {
  /** BMC address on the data center's management network. */
  readonly address: string;
  /** @default 623 */
  readonly port?: number;
  readonly username: string;
  /** Must be a Pulumi secret (`pulumi.secret(...)`); a plain value is refused. */
  readonly password: pulumi.Output<string>;
  /** IPMI v2.0 cipher suite, one of lib/ipmi's ALLOWED_CIPHER_SUITES. @default 3 */
  readonly cipherSuite?: CipherSuite;
}

export interface ServerArgs {
  /** Fleet-unique id, also the CN of the server's computer certificate. */
  readonly id: string;
  readonly dataCenter: string;
  readonly hostname: string;
  readonly roles: readonly ServerRole[];
  /** Address on the data network. */
  readonly address: string;
  /** MAC addresses, PXE interface first; enrollment tokens are bound to the first. */
  readonly macs: readonly string[];
  readonly bmc: ServerBmcArgs;
  /** The data center's site services, which install and enroll the server. */
  readonly site: { readonly url: string; readonly serverName: string };
  /** The platform's root certificate: the site's certificate must chain to it. */
  readonly rootCertificatePem: pulumi.Input<string>;
  /** It runs an instance whose service holds data: its BmcServer is protected. @default false */
  readonly holdsData?: boolean;
  /** Explicit decommission: power off, no protection, no retention. @default false */
  readonly decommission?: boolean;
  /**
   * A BMC credential nobody knows (docs/bmc.md): a random password set on a dedicated BMC user,
   * rotated when the keepers change; `bmc.username`/`password` are then only the initial credential,
   * disabled at enrollment. @default - none: the server is driven with `bmc.username`/`password`
   */
  readonly managedBmcCredential?: ManagedBmcCredentialArgs;
}

/** The options that make powering a server off an explicit act (see the file's comment). */
export function serverLifecycle(args: Pick<ServerArgs, "holdsData" | "decommission">): {
  protect: boolean;
  retainOnDelete: boolean;
} {
  const decommission = args.decommission ?? false;
  return { protect: !decommission && (args.holdsData ?? false), retainOnDelete: !decommission };
}

export class Server extends pulumi.ComponentResource {
  declare public readonly serverId: pulumi.Output<string>;
  declare public readonly hostname: pulumi.Output<string>;
  declare public readonly address: pulumi.Output<string>;
  declare public readonly roles: pulumi.Output<string[]>;
  /** `address:port` of the BMC; never the credentials. */
  declare public readonly bmcEndpoint: pulumi.Output<string>;
  /** The computer certificate's subject and issuer, once the server has enrolled. */
  declare public readonly certificateSubject: pulumi.Output<string>;
  declare public readonly certificateIssuer: pulumi.Output<string>;
  declare public readonly agentUser: pulumi.Output<string>;

  constructor(name: string, args: ServerArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(SERVER_TYPE, name, {}, opts);
    if (!pulumi.Output.isInstance(args.bmc.password)) {
      throw new pulumi.ResourceError(
        `server ${args.id}: bmc.password must be a Pulumi secret Output (pulumi.secret(...)), not a plain value`,
        this,
      );
    }
    this.serverId = pulumi.output(args.id);
    this.hostname = pulumi.output(args.hostname);
    this.address = pulumi.output(args.address);
    this.roles = pulumi.output([...args.roles]);
    this.bmcEndpoint = pulumi.output(`${args.bmc.address}:${args.bmc.port ?? 623}`);
    const credential = args.managedBmcCredential
      ? managedBmcCredential(
          `${name}-bmc-credential`,
          {
            serverId: args.id,
            address: args.bmc.address,
            port: args.bmc.port ?? 623,
            cipherSuite: args.bmc.cipherSuite ?? 3,
            initialUsername: args.bmc.username,
            initialPassword: args.bmc.password,
          },
          args.managedBmcCredential,
          { parent: this },
        )
      : undefined;
    const machine = new BmcServer(
      `${name}-bmc`,
      {
        serverId: args.id,
        dataCenter: args.dataCenter,
        hostname: args.hostname,
        macs: [...args.macs],
        bmc: {
          address: args.bmc.address,
          port: args.bmc.port ?? 623,
          username: credential ? credential.username : args.bmc.username,
          // Secret here too, not only by the engine's additionalSecretOutputs and the plugin's
          // marking: the password must never reach BmcServer's inputs in plain text.
          password: credential ? pulumi.secret(credential.password) : args.bmc.password,
          cipherSuite: args.bmc.cipherSuite ?? 3,
          ipmiVersion: "2.0",
        },
        bootDevice: "disk",
        power: args.decommission ? "off" : "on",
        siteUrl: args.site.url,
        siteServerName: args.site.serverName,
        rootCertificatePem: args.rootCertificatePem,
      },
      { parent: this, ...serverLifecycle(args) },
    );
    this.certificateSubject = machine.certificateSubject;
    this.certificateIssuer = machine.certificateIssuer;
    this.agentUser = machine.agentUser;
    this.registerOutputs({
      serverId: this.serverId,
      hostname: this.hostname,
      address: this.address,
      roles: this.roles,
      bmcEndpoint: this.bmcEndpoint,
      certificateSubject: this.certificateSubject,
      certificateIssuer: this.certificateIssuer,
      agentUser: this.agentUser,
    });
  }
}
