/**
 * Finding a zeroroot project's stack files on disk, and checking one stack or the whole fleet
 * the way `zeroroot fleet validate` does: each stack on its own, then across stacks.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { checkFleet, type CheckedStack } from "./fleet-checks";
import { ConfigIssue, ConfigValidationError } from "./issues";
import {
  MAX_ALIAS_COUNT,
  readStackFile,
  stackNameOf,
  type ReadStackFileOptions,
  type StackFile,
} from "./stack-file";
import { checkStackConfig } from "./validate";

/** The directory holding Pulumi.yaml, searched upwards from `start`. */
export function findProjectRoot(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "Pulumi.yaml"))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** `stackConfigDir` of a project (Pulumi's default is the project directory itself). */
export function stackConfigDirOf(projectRoot: string): string {
  const project = parseYaml(readFileSync(join(projectRoot, "Pulumi.yaml"), "utf8"), {
    maxAliasCount: MAX_ALIAS_COUNT,
  }) as { stackConfigDir?: unknown } | null;
  const dir = project?.stackConfigDir;
  return join(projectRoot, typeof dir === "string" ? dir : ".");
}

export function stackFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => stackNameOf(f) !== undefined)
    .sort()
    .map((f) => join(dir, f));
}

export interface StackReport {
  readonly file: string;
  readonly stack: string;
  readonly issues: readonly ConfigIssue[];
  readonly checked?: CheckedStack;
}

/** Checks every stack file of a directory on its own, then the fleet they form together. */
export function checkStackFiles(
  files: readonly string[],
  opts: ReadStackFileOptions & { cwd?: string } = {},
): { stacks: StackReport[]; fleetIssues: ConfigIssue[] } {
  const stacks = files.map((f): StackReport => {
    const shown = relative(opts.cwd ?? process.cwd(), f) || f;
    let file: StackFile;
    try {
      file = readStackFile(f, { ...opts, displayPath: shown });
    } catch (err) {
      if (err instanceof ConfigValidationError)
        return { file: shown, stack: stackNameOf(f) ?? f, issues: err.issues };
      throw err;
    }
    const { value, issues } = checkStackConfig(file);
    return { file: shown, stack: file.stack, issues, checked: value ? { file, config: value } : undefined };
  });
  const fleetIssues = checkFleet(stacks.flatMap((s) => (s.checked ? [s.checked] : [])));
  return { stacks, fleetIssues };
}
