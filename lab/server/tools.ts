/**
 * The programs a lab server's hardware runs - the BMC hooks' `lab/server/cli.ts` (power on, power
 * off) and the netboot installer (`agents/installer/main.ts`) - as plain JavaScript bundles, made
 * once per `lab up`. Run through tsx, each start compiles and loads TypeScript: 0.7 s of CPU for a
 * hook and 1.2 s for the installer, measured here against 0.08 s and 0.23 s for the bundles; a
 * server's install runs four of them, and on a 2-core machine nine servers' installs queue on that
 * CPU (docs/lab.md, "Provisioning throughput"). Without bundles (a lab directory made before them),
 * the commands fall back to tsx.
 */
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../image/build";

const BUNDLES = {
  serverCli: { entry: "lab/server/cli.ts", out: "server-cli.js" },
  installer: { entry: "agents/installer/main.ts", out: "installer.js" },
} as const;

/** Where a lab keeps its bundles. */
export const labToolsDir = (labDir: string): string => join(labDir, "tools");

/** Builds both bundles into `dir` (each written aside, then renamed: a hook never runs half a file). */
export async function bundleLabTools(dir: string): Promise<void> {
  // esbuild is a dependency of tsx; required lazily so lab/server itself never needs it
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require("esbuild") as typeof import("esbuild");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const b of Object.values(BUNDLES)) {
    const out = join(dir, b.out);
    await esbuild.build({
      entryPoints: [join(REPO_ROOT, b.entry)],
      outfile: `${out}.tmp`,
      bundle: true,
      platform: "node",
      target: "node18",
      format: "cjs",
      logLevel: "warning",
      external: ["@pulumi/*"],
    });
    renameSync(`${out}.tmp`, out);
  }
}

/** argv prefixes of the hooks' command line and of the installer: the bundles when built, else tsx. */
export function labToolCommands(dir: string): { server: string[]; installer: string[] } {
  const run = (b: keyof typeof BUNDLES): string[] => {
    const bundle = join(dir, BUNDLES[b].out);
    return existsSync(bundle)
      ? [process.execPath, bundle]
      : [join(REPO_ROOT, "node_modules/.bin/tsx"), join(REPO_ROOT, BUNDLES[b].entry)];
  };
  return { server: run("serverCli"), installer: run("installer") };
}
