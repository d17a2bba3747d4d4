/**
 * How zeroroot's dynamic providers reach lib/ at deploy time. Pulumi ships a dynamic provider as
 * the serialised text of its closure and runs it in a plain Node.js host that cannot load
 * TypeScript and knows nothing of this checkout. Serialising lib/ by value breaks on its
 * dependencies, so a provider captures only this checkout's absolute path (a string) and, when
 * it runs, registers tsx and requires the lib module from there. The provider therefore runs
 * where the program ran — the machine doing `pulumi up` — which is where Pulumi runs it anyway.
 */
import { join, resolve } from "node:path";

const PROJECT_ROOT = resolve(__dirname, "..");

export function projectModule<T>(relativePath: string): T {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const tsx = require(require.resolve("tsx/cjs/api", { paths: [PROJECT_ROOT] })) as { register(): unknown };
  tsx.register();
  return require(join(PROJECT_ROOT, relativePath)) as T;
  /* eslint-enable @typescript-eslint/no-require-imports */
}
