/**
 * Certificate: a leaf issued from a CSR by a data center's issuing CA. The CSR's key stays where it
 * was made; the issuing CA key stays on the management server and is read there, by path, by the
 * provider plugin (provider/resources/certificate.ts), which also reports revocation from the CA's
 * CRL on `pulumi refresh`. State holds the CSR, the certificate and dates: no private key.
 */
import * as pulumi from "@pulumi/pulumi";
import { resourceType, type CertificateInputs } from "../../lib/contracts/resources";
import { LEAF_KINDS, PROFILES, type LeafKind } from "../../lib/pki";
import { customOptions } from "../resource-options";

export const CERTIFICATE_TYPE = resourceType("Certificate");

/** Where the issuing CA's key is, on the machine that runs the provider. Paths, never key material. */
export interface CertificateSigner {
  readonly caCertificatePem: pulumi.Input<string>;
  /** Path of the issuing CA's PKCS#8 key file on the management server. */
  readonly keyPath: pulumi.Input<string>;
  /** Path of a file holding the key's passphrase. @default - the key file is not encrypted */
  readonly passphrasePath?: pulumi.Input<string>;
  /** Path of the issuing CA's CRL, read at refresh. @default - revocation is not observed */
  readonly crlPath?: pulumi.Input<string>;
}

export interface CertificateArgs {
  readonly kind: LeafKind;
  /** Subject CN: the identity's name (computer: the server id). */
  readonly subject: pulumi.Input<string>;
  /** @default [] */
  readonly dnsNames?: pulumi.Input<pulumi.Input<string>[]>;
  /** @default [] */
  readonly ipAddresses?: pulumi.Input<pulumi.Input<string>[]>;
  /** The key type the CSR must carry. @default "ec-p256" */
  readonly keyType?: CertificateInputs["keyType"];
  /** @default - the kind's profile validity (lib/pki PROFILES) */
  readonly validityDays?: pulumi.Input<number>;
  /** @default - the kind's profile renewal window */
  readonly renewBeforeDays?: pulumi.Input<number>;
  readonly csrPem: pulumi.Input<string>;
  readonly signer: CertificateSigner;
}

export class Certificate extends pulumi.CustomResource {
  declare public readonly certPem: pulumi.Output<string>;
  declare public readonly notAfter: pulumi.Output<string>;
  declare public readonly serial: pulumi.Output<string>;
  /** True when the CA's CRL named this certificate at the last refresh. */
  declare public readonly revoked: pulumi.Output<boolean>;

  constructor(name: string, args: CertificateArgs, opts: pulumi.CustomResourceOptions = {}) {
    const p = PROFILES[args.kind as LeafKind];
    if (!LEAF_KINDS.includes(args.kind))
      throw new pulumi.ResourceError(
        `Certificate ${name}: kind "${String(args.kind)}" is unknown; allowed: ${LEAF_KINDS.join(", ")}`,
        undefined,
      );
    const props = {
      kind: args.kind,
      subject: args.subject,
      dnsNames: args.dnsNames ?? [],
      ipAddresses: args.ipAddresses ?? [],
      keyType: args.keyType ?? "ec-p256",
      validityDays: args.validityDays ?? p.validityDays,
      extendedKeyUsage: p.extendedKeyUsage,
      csrPem: args.csrPem,
      renewBeforeDays: args.renewBeforeDays ?? p.renewBeforeDays,
      caCertificatePem: args.signer.caCertificatePem,
      keyPath: args.signer.keyPath,
      passphrasePath: args.signer.passphrasePath ?? "",
      crlPath: args.signer.crlPath ?? "",
      certPem: undefined,
      notAfter: undefined,
      serial: undefined,
      revoked: undefined,
    };
    super(CERTIFICATE_TYPE, name, props, customOptions("Certificate", opts));
  }
}
