/**
 * IssuingCa: a data center's issuing CA certificate, signed by the root from a CSR made on that
 * site's management server, where the issuing key lives and stays. Outputs the certificate only.
 * Served by the provider plugin (provider/resources/issuingCa.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { resourceType } from "../../lib/contracts/resources";
import { PROFILES, type LeafKind } from "../../lib/pki";
import { customOptions } from "../resource-options";

export const ISSUING_CA_TYPE = resourceType("IssuingCa");

export interface IssuingCaArgs {
  /** Data center name, e.g. "dc1". */
  readonly dataCenter: string;
  /** The data center's DNS zone, exactly one, e.g. ["dc1.zeroroot.example"]. */
  readonly dnsZones: pulumi.Input<pulumi.Input<string>[]>;
  /** IP networks (CIDR) the CA may certify. @default - none: the CA may certify no IP address */
  readonly ipNetworks?: pulumi.Input<pulumi.Input<string>[]>;
  /** Leaf kinds the CA may issue. @default ["computer", "service"] - a site's online CA */
  readonly kinds?: readonly LeafKind[];
  /** PEM CSR made where the issuing CA key lives. */
  readonly csrPem: pulumi.Input<string>;
  /** The root's certificate and key (e.g. a RootCa's outputs); the key must be a Pulumi secret. */
  readonly root: { readonly certificatePem: pulumi.Input<string>; readonly keyPem: pulumi.Input<string> };
  /** @default - the issuing profile's validity (lib/pki PROFILES.issuing) */
  readonly validityDays?: pulumi.Input<number>;
  /** @default - the issuing profile's window */
  readonly renewBeforeDays?: pulumi.Input<number>;
}

export class IssuingCa extends pulumi.CustomResource {
  declare public readonly certificatePem: pulumi.Output<string>;
  declare public readonly notAfter: pulumi.Output<string>;
  declare public readonly serial: pulumi.Output<string>;

  constructor(name: string, args: IssuingCaArgs, opts: pulumi.CustomResourceOptions = {}) {
    const props = {
      dataCenter: args.dataCenter,
      dnsZones: args.dnsZones,
      ipNetworks: args.ipNetworks ?? [],
      // Defaulted by the plugin's check (provider/resources/issuingCa.ts ONLINE_CA_KINDS).
      kinds: args.kinds,
      csrPem: args.csrPem,
      rootCertificatePem: args.root.certificatePem,
      // Kept secret in state even if the caller forgot to mark it.
      rootKeyPem: pulumi.secret(args.root.keyPem),
      validityDays: args.validityDays ?? PROFILES.issuing.validityDays,
      renewBeforeDays: args.renewBeforeDays ?? PROFILES.issuing.renewBeforeDays,
      certificatePem: undefined,
      notAfter: undefined,
      serial: undefined,
    };
    super(ISSUING_CA_TYPE, name, props, customOptions("IssuingCa", opts));
  }
}
