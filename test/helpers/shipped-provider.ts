/**
 * A dynamic provider as Pulumi ships it: serialised by Pulumi's closure serialiser, then loaded from
 * the text alone as the dynamic-provider host loads it, from a directory with no project files (so a
 * provider that `require`s our TypeScript by path fails).
 */
import * as pulumi from "@pulumi/pulumi";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSerialisedProvider } from "../../lab/dynamic-host";

export async function shipped(
  provider: pulumi.dynamic.ResourceProvider,
): Promise<pulumi.dynamic.ResourceProvider> {
  const s = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  const here = process.cwd();
  process.chdir(mkdtempSync(join(tmpdir(), "zr-host-")));
  try {
    return loadSerialisedProvider(s.text);
  } finally {
    process.chdir(here);
  }
}
