/**
 * Options every zeroroot custom resource gets. The resources were dynamic-provider resources
 * (`pulumi-nodejs:dynamic/zeroroot:<Name>`); the alias lets existing state move to the plugin's
 * token instead of being deleted and created again (docs/provider.md, "Moving existing state").
 */
import type * as pulumi from "@pulumi/pulumi";
import { legacyDynamicType, type ResourceKind } from "../lib/contracts/resources";

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
