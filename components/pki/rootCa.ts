/**
 * RootCa: the platform root held by the global stack, for sites that do not keep it offline
 * (`zeroroot pki init`). The key exists only as a Pulumi secret output; it is the one private key
 * zeroroot ever lets into Pulumi state. Served by the provider plugin (provider/resources/rootCa.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { resourceType } from "../../lib/contracts/resources";
import { PROFILES, type KeyKind } from "../../lib/pki";
import { customOptions } from "../resource-options";

export const ROOT_CA_TYPE = resourceType("RootCa");

export interface RootCaArgs {
  /** Subject CN of the root, e.g. "zeroroot.example root CA". */
  readonly commonName: pulumi.Input<string>;
  /** @default "ec-p256" */
  readonly keyType?: pulumi.Input<KeyKind>;
  /** @default - the root profile's validity (lib/pki PROFILES.root) */
  readonly validityDays?: pulumi.Input<number>;
  /** Replace the root this many days before it expires. @default - the root profile's window */
  readonly renewBeforeDays?: pulumi.Input<number>;
}

/** Options every RootCa gets: its key output is secret whatever the caller passes. */
export function rootCaOptions(opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  return customOptions("RootCa", opts, ["keyPem"]);
}

export class RootCa extends pulumi.CustomResource {
  declare public readonly certificatePem: pulumi.Output<string>;
  /** PKCS#8 PEM of the root key; a Pulumi secret. */
  declare public readonly keyPem: pulumi.Output<string>;
  declare public readonly notAfter: pulumi.Output<string>;
  declare public readonly serial: pulumi.Output<string>;

  constructor(name: string, args: RootCaArgs, opts: pulumi.CustomResourceOptions = {}) {
    const props = {
      commonName: args.commonName,
      keyType: args.keyType ?? "ec-p256",
      validityDays: args.validityDays ?? PROFILES.root.validityDays,
      renewBeforeDays: args.renewBeforeDays ?? PROFILES.root.renewBeforeDays,
      certificatePem: undefined,
      keyPem: undefined,
      notAfter: undefined,
      serial: undefined,
    };
    super(ROOT_CA_TYPE, name, props, rootCaOptions(opts));
  }
}
