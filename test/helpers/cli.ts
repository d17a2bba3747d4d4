/**
 * Runs `zeroroot` in this process through cli/main.ts `run()`: the same program, exit codes and
 * messages as ./bin/zeroroot, without a child process start per call. Each command keeps one
 * child-process test (test/helpers/cli-process.ts) for the real exit status and the no-stack-trace
 * promise; everything else runs here.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { run } from "../../cli/main";
import { EXIT_INTERNAL, type UserError } from "../../cli/errors";

/** Stands in an argument list for the number of the descriptor opened on `fd` (see RunOptions). */
export const FD = "<fd>";

export interface RunOptions {
  /** Working directory of the run (commands resolve stacks and show paths relative to it). */
  readonly cwd?: string;
  /** Content readable from a fresh file descriptor, as a shell's `3<file` gives; FD in args is its number. */
  readonly fd?: string;
  /** What a passphrase prompt reads. @default a closed stream that is not a terminal */
  readonly stdin?: NodeJS.ReadStream;
}

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  /** The user error the run ended with, if any (its class tells usage from refusal). */
  readonly error?: UserError;
}

/**
 * `zeroroot <args>` in-process. An internal error (exit 70, a bug) rejects with the printed stack,
 * so no test can mistake a crash for an expected failure.
 */
export async function runCli(args: readonly string[], opts: RunOptions = {}): Promise<CliRun> {
  let out = "";
  let err = "";
  let error: UserError | undefined;
  const input = opts.fd !== undefined ? openInput(opts.fd) : undefined;
  const argv = input ? args.map((a) => (a === FD ? String(input.fd) : a)) : [...args];
  if (!input && argv.includes(FD)) throw new Error(`runCli: ${FD} in the arguments needs opts.fd`);
  const cwd = process.cwd();
  if (opts.cwd) process.chdir(opts.cwd);
  try {
    const code = await run(argv, {
      stdout: (s) => (out += s),
      stderr: (s) => (err += s),
      stdin: opts.stdin ?? notATerminal(),
      onUserError: (e) => (error = e),
    });
    if (code === EXIT_INTERNAL) throw new Error(`zeroroot ${args.join(" ")}: internal error\n${err}`);
    return { code, out, err, error };
  } finally {
    process.chdir(cwd);
    input?.close();
  }
}

/** A terminal on which a user types `lines`, one chunk each (for the no-echo passphrase prompt). */
export function fakeTerminal(...lines: string[]): NodeJS.ReadStream {
  const stream = Readable.from(lines.map((l) => Buffer.from(l))) as unknown as NodeJS.ReadStream;
  Object.assign(stream, { isTTY: true, setRawMode: () => stream });
  return stream;
}

function notATerminal(): NodeJS.ReadStream {
  return Readable.from([]) as unknown as NodeJS.ReadStream;
}

function openInput(content: string): { fd: number; close(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-cli-fd-"));
  const file = path.join(dir, "input");
  fs.writeFileSync(file, content, { mode: 0o600 });
  const fd = fs.openSync(file, "r");
  return {
    fd,
    close: () => {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
