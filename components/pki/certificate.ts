/**
 * Certificate: a leaf issued from a CSR by a data center's issuing CA. The CSR's key stays where it
 * was made; the issuing CA key stays on the management server and is read there, by path, when the
 * provider runs (`pulumi up` for a data center runs where it reaches that site's services). State
 * holds the CSR, the certificate and dates: no private key.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import { projectModule } from "../project-module";
import type { CertificateInputs } from "../../lib/contracts/resources";
import type { LeafKind } from "../../lib/pki";

/** Where the issuing CA's key is, on the machine that runs the provider. Paths, never key material. */
export interface CertificateSigner {
  readonly caCertificatePem: pulumi.Input<string>;
  /** Path of the issuing CA's PKCS#8 key file on the management server. */
  readonly keyPath: pulumi.Input<string>;
  /** Path of a file holding the key's passphrase. @default - the key file is not encrypted */
  readonly passphrasePath?: pulumi.Input<string>;
}

export interface CertificateArgs {
  readonly kind: LeafKind;
  /** Subject CN (computer: the server id). */
  readonly subject: pulumi.Input<string>;
  /** @default [] */
  readonly dnsNames?: pulumi.Input<pulumi.Input<string>[]>;
  /** @default [] */
  readonly ipAddresses?: pulumi.Input<pulumi.Input<string>[]>;
  /** The key type the CSR must carry. @default "ec-p256" */
  readonly keyType?: CertificateInputs["keyType"];
  /** @default - the kind's profile validity */
  readonly validityDays?: pulumi.Input<number>;
  /** @default - the kind's profile renewal window */
  readonly renewBeforeDays?: pulumi.Input<number>;
  readonly csrPem: pulumi.Input<string>;
  readonly signer: CertificateSigner;
}

type Props = CertificateInputs & {
  renewBeforeDays: number;
  caCertificatePem: string;
  keyPath: string;
  passphrasePath: string;
};

export const certificateProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Props) {
    const pki = projectModule<typeof import("../../lib/pki")>("lib/pki");
    const passphrase = inputs.passphrasePath
      ? fs.readFileSync(inputs.passphrasePath, "utf8").split(/\r?\n/)[0]
      : undefined;
    const ca = pki.loadCa(inputs.caCertificatePem, fs.readFileSync(inputs.keyPath), passphrase);
    const csrKind = pki.parseCsr(inputs.csrPem).keyKind;
    if (csrKind !== inputs.keyType)
      throw new Error(
        `Certificate ${inputs.subject}: the CSR carries a ${csrKind} key but keyType is ${inputs.keyType}`,
      );
    const issued = pki.issueFromCsr(ca, inputs.kind as import("../../lib/pki").LeafKind, inputs.csrPem, {
      commonName: inputs.subject,
      dnsNames: inputs.dnsNames,
      ipAddresses: inputs.ipAddresses,
      validityDays: inputs.validityDays,
    });
    return {
      id: issued.serial,
      outs: {
        ...inputs,
        certPem: issued.certificatePem,
        serial: issued.serial,
        notAfter: issued.notAfter.toISOString(),
      },
    };
  },
  async diff(_id: string, olds: Props & { notAfter: string }, news: Props) {
    const keys = ["kind", "subject", "keyType", "validityDays", "csrPem", "caCertificatePem"] as const;
    const changed: string[] = keys.filter((k) => olds[k] !== news[k]);
    if (
      JSON.stringify([olds.dnsNames, olds.ipAddresses]) !== JSON.stringify([news.dnsNames, news.ipAddresses])
    )
      changed.push("dnsNames");
    if (Date.now() >= Date.parse(olds.notAfter) - news.renewBeforeDays * 86_400_000) changed.push("notAfter");
    const moved = olds.keyPath !== news.keyPath || olds.passphrasePath !== news.passphrasePath;
    return { changes: changed.length > 0 || moved, replaces: changed, deleteBeforeReplace: false };
  },
  async update(_id: string, olds: Props & Record<string, unknown>, news: Props) {
    // Only the key's location changed: the certificate stays as issued.
    return { outs: { ...news, certPem: olds.certPem, serial: olds.serial, notAfter: olds.notAfter } };
  },
};

const PROFILE_DAYS: Record<
  LeafKind,
  { validity: number; renew: number; eku: CertificateInputs["extendedKeyUsage"] }
> = {
  user: { validity: 365, renew: 30, eku: ["clientAuth"] },
  computer: { validity: 365, renew: 30, eku: ["clientAuth"] },
  software: { validity: 730, renew: 60, eku: ["codeSigning"] },
  service: { validity: 90, renew: 30, eku: ["serverAuth", "clientAuth"] },
};

export class Certificate extends pulumi.dynamic.Resource {
  declare public readonly certPem: pulumi.Output<string>;
  declare public readonly notAfter: pulumi.Output<string>;
  declare public readonly serial: pulumi.Output<string>;

  constructor(name: string, args: CertificateArgs, opts: pulumi.CustomResourceOptions = {}) {
    const p = PROFILE_DAYS[args.kind];
    if (!p)
      throw new pulumi.ResourceError(
        `Certificate ${name}: kind "${String(args.kind)}" is unknown; allowed: ${Object.keys(PROFILE_DAYS).join(", ")}`,
        undefined,
      );
    const props = {
      kind: args.kind,
      subject: args.subject,
      dnsNames: args.dnsNames ?? [],
      ipAddresses: args.ipAddresses ?? [],
      keyType: args.keyType ?? "ec-p256",
      validityDays: args.validityDays ?? p.validity,
      extendedKeyUsage: p.eku,
      csrPem: args.csrPem,
      renewBeforeDays: args.renewBeforeDays ?? p.renew,
      caCertificatePem: args.signer.caCertificatePem,
      keyPath: args.signer.keyPath,
      passphrasePath: args.signer.passphrasePath ?? "",
      certPem: undefined,
      notAfter: undefined,
      serial: undefined,
    };
    super(certificateProvider, name, props, opts, "zeroroot", "Certificate");
  }
}
