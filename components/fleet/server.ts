/**
 * One bare-metal server of a data center. Today it records the server's identity and BMC
 * endpoint in the resource graph; the BMC power/boot provider, installation and enrollment are
 * children added by later parts (see components/fleet/README.md). The BMC password is only ever
 * held as a Pulumi secret.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ServerRole } from "../../lib/fleet";

export const SERVER_TYPE = "zeroroot:fleet:Server";

export interface ServerBmcArgs {
  /** BMC address on the data center's management network. */
  readonly address: string;
  /** @default 623 */
  readonly port?: number;
  readonly username: string;
  /** Must be a Pulumi secret (`pulumi.secret(...)`); a plain value is refused. */
  readonly password: pulumi.Output<string>;
  /** IPMI v2.0 cipher suite: 3 or 17. @default 3 */
  readonly cipherSuite?: 3 | 17;
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
  readonly bootDisk: string;
  readonly bmc: ServerBmcArgs;
}

export class Server extends pulumi.ComponentResource {
  declare public readonly serverId: pulumi.Output<string>;
  declare public readonly hostname: pulumi.Output<string>;
  declare public readonly address: pulumi.Output<string>;
  declare public readonly roles: pulumi.Output<string[]>;
  /** `address:port` of the BMC; never the credentials. */
  declare public readonly bmcEndpoint: pulumi.Output<string>;

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
    this.registerOutputs({
      serverId: this.serverId,
      hostname: this.hostname,
      address: this.address,
      roles: this.roles,
      bmcEndpoint: this.bmcEndpoint,
    });
  }
}
