/**
 * SoftwareRelease: one signed release (lib/release's SignedRelease), verified against the platform
 * root and published to the control plane at `/releases/<name>@<version>`, where nodes fetch it and
 * verify it again. Inputs are lib/contracts' SoftwareReleaseInputs (what the signed-software policy
 * judges) plus the manifest, so the signed document can be rebuilt exactly. The provider plugin
 * (provider/resources/softwareRelease.ts) verifies at `check`, again before it publishes, and reads
 * back whether it is still published. A new version replaces; a reused version is refused.
 */
import * as pulumi from "@pulumi/pulumi";
import { RESOURCE_DEFAULTS, resourceType, type SoftwareReleaseInputs } from "../../lib/contracts/resources";
import { manifestDigest, type ReleaseManifest, type SignedRelease } from "../../lib/release";
import { customOptions, rootReference } from "../resource-options";

export const SOFTWARE_RELEASE_TYPE = resourceType("SoftwareRelease");

export interface SoftwareReleaseArgs {
  /** The signed release, as read from releases/<name>-<version>.signed.json. */
  readonly signed: SignedRelease;
  /** The root every signature must chain to (recorded as its SHA-256: the zeroroot provider holds the PEM). */
  readonly rootCertificatePem: pulumi.Input<string>;
  /** Client URLs of the control-plane members (https://etcd.<dc>.<domain>:2379). */
  readonly controlPlaneEndpoints: pulumi.Input<readonly string[]>;
  /** @default 30 */
  readonly controlPlaneTimeoutSeconds?: number;
  /**
   * Who may sign which releases: the list the nodes trust (`{signers: [{identity: "dc1/software/alice",
   * releases: ["*"]}]}`, lib/release). With it the plugin runs the nodes' verifier before publishing.
   * @default - only the signature chain and the manifest are checked; nodes still refuse an unauthorised signer
   */
  readonly authorisedSigners?: pulumi.Input<unknown>;
}

export type SoftwareReleaseProps = SoftwareReleaseInputs & {
  manifest: ReleaseManifest;
  signatureAlgorithm: string;
  /** Issuer certificates after the signer's (normally the issuing CA). */
  signerChainCertificates: string[];
  rootCertificateSha256: string;
  controlPlaneEndpoints: string[];
  controlPlaneTimeoutSeconds: number;
};

export class SoftwareRelease extends pulumi.CustomResource {
  declare public readonly publishedKey: pulumi.Output<string>;
  declare public readonly manifestDigest: pulumi.Output<string>;
  /** Whether this exact release was published at the last refresh. */
  declare public readonly published: pulumi.Output<boolean>;

  constructor(name: string, args: SoftwareReleaseArgs, opts: pulumi.CustomResourceOptions = {}) {
    const { manifest, signature } = args.signed;
    super(
      SOFTWARE_RELEASE_TYPE,
      name,
      {
        name: manifest.name,
        version: manifest.version,
        manifestDigest: manifestDigest(manifest),
        signerCertificatePem: signature.certificates[0],
        signature: signature.value,
        manifest,
        signatureAlgorithm: signature.algorithm,
        signerChainCertificates: signature.certificates.slice(1),
        rootCertificateSha256: rootReference(args.rootCertificatePem),
        controlPlaneEndpoints: args.controlPlaneEndpoints,
        controlPlaneTimeoutSeconds:
          args.controlPlaneTimeoutSeconds ?? RESOURCE_DEFAULTS.controlPlaneTimeoutSeconds,
        authorisedSigners: args.authorisedSigners,
        publishedKey: undefined,
        published: undefined,
      },
      customOptions("SoftwareRelease", opts),
    );
  }
}
