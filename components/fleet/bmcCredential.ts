/**
 * A server's BMC credential that nobody knows (docs/bmc.md): a BmcCredential served by the plugin
 * (provider/resources/bmcCredential.ts) that makes a random password itself, sets it on a dedicated
 * BMC user, disables the initial one, and rotates it in place to a fresh one when its keepers (the
 * rotation period and generation the stack program computes) change. The password exists only as
 * a Pulumi secret output of that one resource: one resource per server, one stored copy.
 */
import * as pulumi from "@pulumi/pulumi";
import { resourceType, type CipherSuite } from "../../lib/contracts/resources";
import { MANAGED_USER_DEFAULTS } from "../../lib/ipmi/users";

export const BMC_CREDENTIAL_TYPE = resourceType("BmcCredential");

/** How the managed credential is made and rotated; plain values, validated by lib/fleet. */
export interface ManagedBmcCredentialArgs {
  /** A change of any value rotates the password (the plugin makes a new one). */
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
  /** A change of any value rotates the password. @default - {}: rotates only on drift or setting changes */
  readonly keepers?: Readonly<Record<string, string>>;
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
  const { userIds, channel, usernameBase, passwordBytes, keepers, ...rest } = args;
  const d = MANAGED_USER_DEFAULTS;
  return {
    ...rest,
    ...(keepers ? { keepers: { ...keepers } } : {}),
    ...(userIds && (userIds[0] !== d.userIds[0] || userIds[1] !== d.userIds[1])
      ? { userIds: [...userIds] }
      : {}),
    ...(channel !== undefined && channel !== d.channel ? { channel } : {}),
    ...(usernameBase !== undefined && usernameBase !== d.usernameBase ? { usernameBase } : {}),
    ...(passwordBytes !== undefined && passwordBytes !== d.passwordBytes ? { passwordBytes } : {}),
    username: undefined,
    password: undefined,
  };
}

/**
 * What `read` and rotations record (`userId`, `rotatedAt`, and `loginWorks`/`initialLoginRefused`
 * only when a read found them false) are outputs in state, for refresh and the next diff, not
 * properties of this class: a program composes only with the managed login.
 */
export class BmcCredential extends pulumi.CustomResource {
  /** The managed BMC user now in use (`<usernameBase>-a` or `-b`). */
  declare public readonly username: pulumi.Output<string>;
  /** The managed password the plugin made (a secret output): what BmcServer logs in with. */
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
 * The BmcCredential of one server. The password is letters and digits only (safe in ipmitool's
 * command file): 62^16, about 95 bits, at the default length.
 */
export function managedBmcCredential(
  name: string,
  bmc: Omit<BmcCredentialArgs, keyof ManagedBmcCredentialArgs>,
  managed: ManagedBmcCredentialArgs,
  opts: pulumi.CustomResourceOptions,
): BmcCredential {
  return new BmcCredential(
    name,
    {
      ...bmc,
      keepers: managed.keepers,
      userIds: managed.userIds,
      channel: managed.channel,
      usernameBase: managed.usernameBase,
      passwordBytes: managed.passwordBytes,
    },
    opts,
  );
}
