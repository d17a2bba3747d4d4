/**
 * IssuingCa: a data center's issuing CA certificate, signed by the root from a CSR made on that
 * site's management server, where the issuing key lives and stays. Outputs the certificate only.
 */
import * as pulumi from "@pulumi/pulumi";
import { projectModule } from "../project-module";

export interface IssuingCaArgs {
  /** Data center name, e.g. "dc1". */
  readonly dataCenter: string;
  /** DNS zone(s) the CA may certify, e.g. ["dc1.zeroroot.example"]. */
  readonly dnsZones: pulumi.Input<pulumi.Input<string>[]>;
  /** IP networks (CIDR) the CA may certify. @default - none: the CA may certify no IP address */
  readonly ipNetworks?: pulumi.Input<pulumi.Input<string>[]>;
  /** PEM CSR made where the issuing CA key lives. */
  readonly csrPem: pulumi.Input<string>;
  /** The root's certificate and key (e.g. a RootCa's outputs); the key must be a Pulumi secret. */
  readonly root: { readonly certificatePem: pulumi.Input<string>; readonly keyPem: pulumi.Input<string> };
  /** @default - the issuing profile's validity (1825 days) */
  readonly validityDays?: pulumi.Input<number>;
  /** @default - the issuing profile's window (365 days) */
  readonly renewBeforeDays?: pulumi.Input<number>;
}

interface IssuingCaProps {
  dataCenter: string;
  dnsZones: string[];
  ipNetworks: string[];
  csrPem: string;
  rootCertificatePem: string;
  rootKeyPem: string;
  validityDays: number;
  renewBeforeDays: number;
}

export const issuingCaProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: IssuingCaProps) {
    const pki = projectModule<typeof import("../../lib/pki")>("lib/pki");
    const root = pki.loadCa(inputs.rootCertificatePem, inputs.rootKeyPem);
    const issued = pki.issueFromCsr(root, "issuing", inputs.csrPem, {
      commonName: `${inputs.dnsZones[0]} issuing CA`,
      nameScope: { dnsZones: inputs.dnsZones, ipNetworks: inputs.ipNetworks },
      validityDays: inputs.validityDays,
      organization: "zeroroot",
    });
    // The root key is an input only; outputs carry certificates and dates, never a key.
    const { rootKeyPem: _omit, ...rest } = inputs;
    return {
      id: issued.serial,
      outs: {
        ...rest,
        certificatePem: issued.certificatePem,
        serial: issued.serial,
        notAfter: issued.notAfter.toISOString(),
      },
    };
  },
  async diff(_id: string, olds: IssuingCaProps & { notAfter: string }, news: IssuingCaProps) {
    const keys = ["dataCenter", "csrPem", "rootCertificatePem", "validityDays"] as const;
    const changed: string[] = keys.filter((k) => olds[k] !== news[k]);
    if (JSON.stringify([olds.dnsZones, olds.ipNetworks]) !== JSON.stringify([news.dnsZones, news.ipNetworks]))
      changed.push("dnsZones");
    if (Date.now() >= Date.parse(olds.notAfter) - news.renewBeforeDays * 86_400_000) changed.push("notAfter");
    return { changes: changed.length > 0, replaces: changed, deleteBeforeReplace: false };
  },
};

export class IssuingCa extends pulumi.dynamic.Resource {
  declare public readonly certificatePem: pulumi.Output<string>;
  declare public readonly notAfter: pulumi.Output<string>;
  declare public readonly serial: pulumi.Output<string>;

  constructor(name: string, args: IssuingCaArgs, opts: pulumi.CustomResourceOptions = {}) {
    const props = {
      dataCenter: args.dataCenter,
      dnsZones: args.dnsZones,
      ipNetworks: args.ipNetworks ?? [],
      csrPem: args.csrPem,
      rootCertificatePem: args.root.certificatePem,
      // Kept secret in state even if the caller forgot to mark it.
      rootKeyPem: pulumi.secret(args.root.keyPem),
      validityDays: args.validityDays ?? 1825,
      renewBeforeDays: args.renewBeforeDays ?? 365,
      certificatePem: undefined,
      notAfter: undefined,
      serial: undefined,
    };
    super(issuingCaProvider, name, props, opts, "zeroroot", "IssuingCa");
  }
}
