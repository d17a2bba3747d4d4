/** Running host tools from the lab: one promise per command, stderr kept for the error message. */
import { spawn, SpawnOptions } from "node:child_process";

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(" ")} exited with ${code}: ${stderr.trim().split("\n").slice(-8).join("\n")}`);
    this.name = "CommandError";
  }
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** Runs argv; rejects with CommandError on a non-zero exit unless `allowFailure`. */
export function run(
  argv: readonly string[],
  opts: SpawnOptions & { input?: string; allowFailure?: boolean } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      ...opts,
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e) => reject(new CommandError(argv, null, `${e.message}`)));
    child.on("close", (code) => {
      if (code !== 0 && !opts.allowFailure) reject(new CommandError(argv, code, stderr || stdout));
      else resolve({ stdout, stderr, code });
    });
    if (opts.input !== undefined) {
      child.stdin!.on("error", () => undefined); // a child that exits without reading its input
      child.stdin!.end(opts.input);
    }
  });
}

/** Runs a shell pipeline (`sh -c`), for tar | zstd. Arguments must already be quoted with `q`. */
export const sh = (script: string, opts: SpawnOptions = {}) => run(["/bin/sh", "-c", script], opts);

/** Single-quotes a string for /bin/sh. */
export const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
