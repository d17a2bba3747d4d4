/**
 * Options every zeroroot custom resource gets. The resources were dynamic-provider resources
 * (`pulumi-nodejs:dynamic/zeroroot:<Name>`); the alias lets existing state move to the plugin's
 * token instead of being deleted and created again (docs/provider.md, "Moving existing state").
 */
import * as pulumi from "@pulumi/pulumi";
import { legacyDynamicType, type ResourceKind } from "../lib/contracts/resources";
import { certificateSha256 } from "../lib/pki/fingerprint";

/**
 * The platform root as a resource records it: its SHA-256, not its PEM. The zeroroot provider holds
 * the PEM once per stack (components/provider.ts); ~0.7 KB less state per resource.
 */
const references = new WeakMap<object, pulumi.Output<string>>();

export function rootReference(rootCertificatePem: pulumi.Input<string>): pulumi.Output<string> {
  // A stack hands one root Output to all its resources: hash it once, not once per resource.
  if (typeof rootCertificatePem !== "object" || rootCertificatePem === null)
    return pulumi.output(rootCertificatePem).apply(certificateSha256);
  let reference = references.get(rootCertificatePem);
  if (!reference) {
    reference = pulumi.output(rootCertificatePem).apply(certificateSha256);
    references.set(rootCertificatePem, reference);
  }
  return reference;
}

export function customOptions(
  kind: ResourceKind,
  opts: pulumi.CustomResourceOptions,
  secretOutputs: readonly string[] = [],
): pulumi.CustomResourceOptions {
  return {
    ...opts,
    aliases: [...(opts.aliases ?? []), { type: legacyDynamicType(kind) }],
    additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), ...secretOutputs],
  };
}
