/**
 * HardenedImage: the image one data center's servers are installed with, as the custom resource the
 * policy pack judges (zero-root, no-ssh, firewall rules read its packages, users and programs).
 * Built from lib/hardening's spec, never from hand-written values, so what is judged is the spec
 * the image is built from; with `image` ({sha256, dir}) the plugin also checks that the archive
 * the site serves is there and unaltered (provider/resources/hardenedImage.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { resourceType, type HardenedImageResourceInputs } from "../../lib/contracts/resources";
import { toHardenedImageInputs, type HardenedImageSpec } from "../../lib/hardening";

export const HARDENED_IMAGE_TYPE = resourceType("HardenedImage");

export interface HardenedImageArgs {
  readonly dataCenter: string;
  /** The resolved spec (lib/hardening resolveHardenedImageSpec). */
  readonly spec: HardenedImageSpec;
  /** The archive the site serves: its SHA-256 and the site's image directory. @default - spec only */
  readonly image?: { readonly sha256: string; readonly dir: string };
}

export class HardenedImage extends pulumi.CustomResource {
  declare public readonly specHash: pulumi.Output<string>;
  /** The archive was found and hashed to `imageSha256` at the last create or refresh. */
  declare public readonly present: pulumi.Output<boolean>;

  constructor(name: string, args: HardenedImageArgs, opts: pulumi.CustomResourceOptions = {}) {
    const inputs: HardenedImageResourceInputs = {
      ...toHardenedImageInputs(args.spec, args.dataCenter),
      ...(args.image ? { imageSha256: args.image.sha256, imageDir: args.image.dir } : {}),
    };
    // A new resource kind: it never was a dynamic-provider resource, so it has no alias.
    super(HARDENED_IMAGE_TYPE, name, { ...inputs, present: undefined, foundSha256: undefined }, opts);
  }
}
