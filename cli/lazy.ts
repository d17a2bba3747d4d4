/**
 * Loading a module when a command runs instead of when the CLI starts: the Pulumi SDK, the lab and the
 * drift observers take a second or more to load, and `zeroroot --help` or another command need not wait.
 * Paths are from the repository root (`lib/drift/schedule`), so every command names a module the same way.
 */
import { join } from "node:path";

export function loadModule<T>(fromRoot: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(join(__dirname, "..", fromRoot)) as T;
}
