/**
 * Loads a serialised dynamic provider the way Pulumi's Node.js dynamic-provider host does
 * (`require-from-string(props.__provider).handler()`), so the lab runner and the tests exercise
 * exactly what `pulumi up` ships: a provider that only works in-process fails here too.
 */
import type * as pulumi from "@pulumi/pulumi";

type RequireFromString = (code: string, filename?: string) => { handler(): pulumi.dynamic.ResourceProvider };

// require-from-string is the SDK's own dependency; resolve it from the SDK's location.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require(
  require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] }),
) as RequireFromString;

const cache = new Map<string, pulumi.dynamic.ResourceProvider>();

export function loadSerialisedProvider(serialised: string): pulumi.dynamic.ResourceProvider {
  let provider = cache.get(serialised);
  if (!provider) {
    provider = requireFromString(serialised).handler();
    cache.set(serialised, provider);
  }
  return provider;
}
