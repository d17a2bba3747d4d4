/**
 * Where the stack program's configuration comes from. Values come from the Pulumi engine (already
 * decrypted); which leaves are secrets, and on which line each key is, come from the stack file
 * itself, because Pulumi only tells whether a whole top-level key holds a secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { MAX_STACK_FILE_BYTES, readStackFile, type PathSegment, type RawStackConfig } from "../lib/fleet";

export function configFromEngine(stack: string, stackConfigDir: string): RawStackConfig {
  const values = Object.create(null) as Record<string, unknown>;
  for (const [key, text] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith("zeroroot:")) continue;
    values[key] = parseConfigValue(text);
  }
  const file = join(stackConfigDir, `Pulumi.${stack}.yaml`);
  if (existsSync(file)) {
    const fromFile = readStackFile(file, { displayPath: `stacks/Pulumi.${stack}.yaml` });
    return { values, isSecret: fromFile.isSecret, locate: fromFile.locate };
  }
  // No stack file (config from an ESC environment, say): only whole keys are known to be secret.
  return { values, isSecret: (path: readonly PathSegment[]) => isConfigKeySecret(String(path[0])) };
}

/** The SDK exports this at runtime but not in its typings (3.248). */
function isConfigKeySecret(key: string): boolean {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
  return runtime.isConfigSecret?.(key) ?? false;
}

/**
 * Objects get a null prototype, like the stack-file reader's, so no key of the text can reach
 * Object.prototype; lib/fleet then refuses `__proto__`, `constructor` and `prototype` keys by path.
 * Text beyond the stack-file bound stays a string, which the validator refuses as too long.
 */
export function parseConfigValue(text: string): unknown {
  if (text.length > MAX_STACK_FILE_BYTES) return text;
  try {
    return JSON.parse(text, (_key, v: unknown) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.assign(Object.create(null) as object, v)
        : v,
    );
  } catch {
    return text;
  }
}
