/**
 * SoftwareRelease: one signed release (lib/release's SignedRelease), verified against the platform
 * root and published to the control plane at `/releases/<name>@<version>`, where nodes fetch it and
 * verify it again. Inputs are lib/contracts' SoftwareReleaseInputs (what the signed-software policy
 * judges) plus the manifest, so the signed document can be rebuilt exactly. The provider verifies at
 * `check` (so `pulumi preview` refuses a tampered or foreign-signed release) and again before it
 * publishes. A release is immutable: a new version replaces the resource; the same version with
 * another manifest is refused, as nodes would refuse it ("version-reused").
 */
import * as pulumi from "@pulumi/pulumi";
import { dynamicType, type SoftwareReleaseInputs } from "../../lib/contracts/resources";
import { manifestDigest, type ReleaseManifest, type SignedRelease } from "../../lib/release";
import { projectModule } from "../project-module";
import { operatorClient } from "./connect";

export const SOFTWARE_RELEASE_TYPE = dynamicType("SoftwareRelease");

export interface SoftwareReleaseArgs {
  /** The signed release, as read from releases/<name>-<version>.signed.json. */
  readonly signed: SignedRelease;
  /** The root every signature must chain to. */
  readonly rootCertificatePem: pulumi.Input<string>;
  /** Client URLs of the control-plane members (https://etcd.<dc>.<domain>:2379). */
  readonly controlPlaneEndpoints: pulumi.Input<readonly string[]>;
  /** @default 30 */
  readonly controlPlaneTimeoutSeconds?: number;
}

export type SoftwareReleaseProps = SoftwareReleaseInputs & {
  manifest: ReleaseManifest;
  signatureAlgorithm: string;
  /** Issuer certificates after the signer's (normally the issuing CA). */
  signerChainCertificates: string[];
  rootCertificatePem: string;
  controlPlaneEndpoints: string[];
  controlPlaneTimeoutSeconds: number;
};

/** The signed document as it was signed, from the resource's props. */
function signedOf(p: SoftwareReleaseProps): SignedRelease {
  return {
    manifest: p.manifest,
    signature: {
      algorithm: p.signatureAlgorithm as SignedRelease["signature"]["algorithm"],
      value: p.signature,
      certificates: [p.signerCertificatePem, ...p.signerChainCertificates],
    },
  };
}

/** Why a release cannot be published, or undefined when it verifies. */
function refusal(p: SoftwareReleaseProps, now = new Date()): string | undefined {
  const release = projectModule<typeof import("../../lib/release")>("lib/release");
  const signed = signedOf(p);
  const env = release.verifyEnvelope(signed.manifest, signed.signature, {
    root: p.rootCertificatePem,
    use: "codeSigning",
    at: now,
  });
  if (!env.ok) return `${env.reason}: ${env.detail}`;
  let m: ReleaseManifest;
  try {
    m = release.validateManifest(signed.manifest);
  } catch (e) {
    return `malformed: ${(e as Error).message}`;
  }
  if (m.name !== p.name || m.version !== p.version)
    return `the manifest is ${m.name}@${m.version}, the resource says ${p.name}@${p.version}`;
  const digest = release.manifestDigest(m);
  if (digest !== p.manifestDigest)
    return `manifestDigest is ${p.manifestDigest}; the manifest's is ${digest}`;
  if (now.getTime() > Date.parse(m.notAfter))
    return `expired: release ${m.name} ${m.version} expired at ${m.notAfter}`;
  return undefined;
}

const isPem = (v: unknown) => typeof v === "string" && v.includes("-----BEGIN CERTIFICATE-----");

async function publish(p: SoftwareReleaseProps): Promise<string> {
  const why = refusal(p);
  if (why) throw new Error(`release ${p.name}@${p.version} is refused: ${why}`);
  const { keys } = projectModule<typeof import("../../lib/controlplane")>("lib/controlplane");
  const key = keys.release(p.name, p.version);
  const client = operatorClient(
    p.controlPlaneEndpoints,
    p.rootCertificatePem,
    p.controlPlaneTimeoutSeconds * 1000,
  );
  try {
    await client.put(key, JSON.stringify(signedOf(p)));
  } finally {
    client.close();
  }
  return key;
}

export const softwareReleaseProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: SoftwareReleaseProps, news: SoftwareReleaseProps) {
    // Unknown at preview (root from another stack not yet known): judged again at create.
    if (!isPem(news.rootCertificatePem) || typeof news.signature !== "string") return { inputs: news };
    const why = refusal(news);
    return why
      ? {
          inputs: news,
          failures: [
            { property: "signature", reason: `release ${news.name}@${news.version} is refused: ${why}` },
          ],
        }
      : { inputs: news };
  },
  async create(inputs: SoftwareReleaseProps) {
    const publishedKey = await publish(inputs);
    return { id: `${inputs.name}@${inputs.version}`, outs: { ...inputs, publishedKey } };
  },
  async diff(_id: string, olds: SoftwareReleaseProps, news: SoftwareReleaseProps) {
    const replaces = (["name", "version"] as const).filter((k) => olds[k] !== news[k]);
    const changes = INPUT_KEYS.some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    return { changes, replaces };
  },
  async update(_id: string, olds: SoftwareReleaseProps, news: SoftwareReleaseProps) {
    if (olds.manifestDigest !== news.manifestDigest)
      throw new Error(
        `release ${news.name}@${news.version} was published with manifest ${olds.manifestDigest}; nodes refuse a version reused with another content (${news.manifestDigest}): give the release a new version`,
      );
    return { outs: { ...news, publishedKey: await publish(news) } };
  },
  async delete() {
    // Left published on purpose: releases are immutable and other stacks' computers may still run
    // this one; nodes run only what their signed desired state names. Removal is a human decision.
  },
};

const INPUT_KEYS = [
  "name",
  "version",
  "manifestDigest",
  "signerCertificatePem",
  "signature",
  "manifest",
  "signatureAlgorithm",
  "signerChainCertificates",
  "rootCertificatePem",
  "controlPlaneEndpoints",
  "controlPlaneTimeoutSeconds",
] as const;

export class SoftwareRelease extends pulumi.dynamic.Resource {
  declare public readonly publishedKey: pulumi.Output<string>;
  declare public readonly manifestDigest: pulumi.Output<string>;

  constructor(name: string, args: SoftwareReleaseArgs, opts: pulumi.CustomResourceOptions = {}) {
    const { manifest, signature } = args.signed;
    super(
      softwareReleaseProvider,
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
        rootCertificatePem: args.rootCertificatePem,
        controlPlaneEndpoints: args.controlPlaneEndpoints,
        controlPlaneTimeoutSeconds: args.controlPlaneTimeoutSeconds ?? 30,
        publishedKey: undefined,
      },
      opts,
      "zeroroot",
      "SoftwareRelease",
    );
  }
}
