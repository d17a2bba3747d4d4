/**
 * Runs ./bin/zeroroot as a user (or CI) runs it: a child process of this Node, exit code and output
 * captured. Also copies the example stacks so a test can break one without touching the repository.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REPO_ROOT = join(__dirname, "../..");
const BIN = join(REPO_ROOT, "bin/zeroroot");

export interface CliRun {
  /** Exit code; null when the process was killed by a signal. */
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** `zeroroot <args>` in `cwd` (default: the repository root), without colours. */
export function zeroroot(args: string[], cwd = REPO_ROOT): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A fresh temporary directory holding the example stack files (stacks/ without its .ts); returns it. */
export function copyExampleStacks(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(REPO_ROOT, "stacks"), dir, { recursive: true, filter: (s) => !s.endsWith(".ts") });
  return dir;
}
