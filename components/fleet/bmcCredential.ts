/**
 * A server's BMC credential that nobody knows (docs/bmc.md): a `@pulumi/random` RandomPassword,
 * regenerated when its keepers (the rotation period and generation the stack program computes)
 * change, and a BmcCredential served by the plugin (provider/resources/bmcCredential.ts) that sets
 * it on a dedicated BMC user, disables the initial one, and rotates in place. The password exists
 * only as a Pulumi secret: in the RandomPassword's and the BmcCredential's state.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { resourceType, type CipherSuite } from "../../lib/contracts/resources";
import { MANAGED_USER_DEFAULTS } from "../../lib/ipmi/users";

export const BMC_CREDENTIAL_TYPE = resourceType("BmcCredential");

/** How the managed credential is made and rotated; plain values, validated by lib/fleet. */
export interface ManagedBmcCredentialArgs {
  /** RandomPassword keepers: a change makes a new password, i.e. a rotation. */
  readonly keepers: Readonly<Record<string, string>>;
  /** The two BMC user ids zeroroot alternates between. @default [3, 4] */
  readonly userIds?: readonly [number, number];
  /** @default 1 */
  readonly channel?: number;
  /** @default "zeroroot" */
  readonly usernameBase?: string;
  /** Password length and IPMI password field. @default 16 */
  readonly passwordBytes?: 16 | 20;
}

export interface BmcCredentialArgs {
  readonly serverId: string;
  readonly address: string;
  readonly port: number;
  readonly cipherSuite: CipherSuite;
  readonly initialUsername: string;
  /** Must be a secret Output. */
  readonly initialPassword: pulumi.Output<string>;
  /** Must be a secret Output (a RandomPassword's result). */
  readonly password: pulumi.Output<string>;
  readonly userIds?: readonly [number, number];
  readonly channel?: number;
  readonly usernameBase?: string;
  readonly passwordBytes?: 16 | 20;
}

/**
 * The properties registered. Each costs the program about four stack-captured promises in the SDK
 * (docs/provider.md, "Cost of the program"), so: settings equal to the plugin's defaults are left to
 * its check (stored state is the same), and of the outputs only those a program composes with.
 */
function registered(args: BmcCredentialArgs): pulumi.Inputs {
  const { userIds, channel, usernameBase, passwordBytes, ...rest } = args;
  const d = MANAGED_USER_DEFAULTS;
  return {
    ...rest,
    ...(userIds && (userIds[0] !== d.userIds[0] || userIds[1] !== d.userIds[1])
      ? { userIds: [...userIds] }
      : {}),
    ...(channel !== undefined && channel !== d.channel ? { channel } : {}),
    ...(usernameBase !== undefined && usernameBase !== d.usernameBase ? { usernameBase } : {}),
    ...(passwordBytes !== undefined && passwordBytes !== d.passwordBytes ? { passwordBytes } : {}),
    username: undefined,
  };
}

/**
 * What `read` and rotations record (`userId`, `loginWorks`, `initialLoginRefused`, `rotatedAt`) are
 * outputs in state, for refresh and the next diff, not properties of this class: a program composes
 * only with the managed login.
 */
export class BmcCredential extends pulumi.CustomResource {
  /** The managed BMC user now in use (`<usernameBase>-a` or `-b`). */
  declare public readonly username: pulumi.Output<string>;
  /** The managed password (secret): what BmcServer logs in with. */
  declare public readonly password: pulumi.Output<string>;

  constructor(name: string, args: BmcCredentialArgs, opts: pulumi.CustomResourceOptions = {}) {
    // New with the plugin: no dynamic-provider token to alias.
    super(BMC_CREDENTIAL_TYPE, name, registered(args), {
      ...opts,
      additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "password", "initialPassword"],
    });
  }
}

/**
 * The RandomPassword and the BmcCredential of one server. Letters and digits only: safe in ipmitool's
 * command file, 62^16 (about 95 bits) at the default length.
 */
export function managedBmcCredential(
  name: string,
  bmc: Omit<BmcCredentialArgs, "password" | keyof Omit<ManagedBmcCredentialArgs, "keepers">>,
  managed: ManagedBmcCredentialArgs,
  opts: pulumi.CustomResourceOptions,
): BmcCredential {
  const length = managed.passwordBytes ?? 16;
  const password = new random.RandomPassword(
    `${name}-password`,
    { length, special: false, upper: true, lower: true, numeric: true, keepers: { ...managed.keepers } },
    { ...opts, additionalSecretOutputs: ["result"] },
  );
  return new BmcCredential(
    name,
    {
      ...bmc,
      password: pulumi.secret(password.result),
      userIds: managed.userIds,
      channel: managed.channel,
      usernameBase: managed.usernameBase,
      passwordBytes: managed.passwordBytes,
    },
    opts,
  );
}
