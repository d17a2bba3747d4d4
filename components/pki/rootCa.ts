/**
 * RootCa: the platform root held by the global stack, for sites that do not keep it offline
 * (`zeroroot pki init`). The key exists only as a Pulumi secret output; it is the one private key
 * zeroroot ever lets into Pulumi state.
 */
import * as pulumi from "@pulumi/pulumi";
import { projectModule } from "../project-module";
import type { KeyKind } from "../../lib/pki";

export interface RootCaArgs {
  /** Subject CN of the root, e.g. "zeroroot.example root CA". */
  readonly commonName: pulumi.Input<string>;
  /** @default "ec-p256" */
  readonly keyType?: pulumi.Input<KeyKind>;
  /** @default - the root profile's validity (7300 days) */
  readonly validityDays?: pulumi.Input<number>;
  /** Replace the root this many days before it expires. @default - the root profile's window (730 days) */
  readonly renewBeforeDays?: pulumi.Input<number>;
}

interface RootCaProps {
  commonName: string;
  keyType: KeyKind;
  validityDays: number;
  renewBeforeDays: number;
}

/** The provider; exported so tests and the lab runner can call create/diff directly. */
export const rootCaProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: RootCaProps) {
    const pki = projectModule<typeof import("../../lib/pki")>("lib/pki");
    const root = pki.createRootCa({
      commonName: inputs.commonName,
      organization: "zeroroot",
      keyKind: inputs.keyType,
      validityDays: inputs.validityDays,
    });
    const info = root.ca.info;
    const keyPem = pki.exportPkcs8(root.ca.privateKey).toString();
    return {
      id: info.serial,
      outs: {
        ...inputs,
        certificatePem: root.certificatePem,
        keyPem,
        serial: info.serial,
        notAfter: info.notAfter.toISOString(),
      },
    };
  },
  async diff(_id: string, olds: RootCaProps & { notAfter: string }, news: RootCaProps) {
    const changed = (["commonName", "keyType", "validityDays"] as const).filter((k) => olds[k] !== news[k]);
    const renew = Date.now() >= Date.parse(olds.notAfter) - news.renewBeforeDays * 86_400_000;
    const replaces = [...changed, ...(renew ? ["notAfter"] : [])];
    return {
      changes: replaces.length > 0 || olds.renewBeforeDays !== news.renewBeforeDays,
      replaces,
      deleteBeforeReplace: false,
    };
  },
};

/** Options every RootCa gets: its key output is secret whatever the caller passes. */
export function rootCaOptions(opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  return { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "keyPem"] };
}

export class RootCa extends pulumi.dynamic.Resource {
  declare public readonly certificatePem: pulumi.Output<string>;
  /** PKCS#8 PEM of the root key; a Pulumi secret. */
  declare public readonly keyPem: pulumi.Output<string>;
  declare public readonly notAfter: pulumi.Output<string>;
  declare public readonly serial: pulumi.Output<string>;

  constructor(name: string, args: RootCaArgs, opts: pulumi.CustomResourceOptions = {}) {
    const props = {
      commonName: args.commonName,
      keyType: args.keyType ?? "ec-p256",
      validityDays: args.validityDays ?? 7300,
      renewBeforeDays: args.renewBeforeDays ?? 730,
      certificatePem: undefined,
      keyPem: undefined,
      notAfter: undefined,
      serial: undefined,
    };
    super(rootCaProvider, name, props, rootCaOptions(opts), "zeroroot", "RootCa");
  }
}
