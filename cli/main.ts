/**
 * Entry point of the `zeroroot` command. Each area registers its sub-commands from
 * cli/commands/<area>.ts; this file only wires them and turns errors into exit codes.
 *
 * `run(argv, io)` is the whole command as a function: it returns the exit code and never exits the
 * process, so tests run the CLI in-process (test/helpers/cli.ts) and only one test per command pays
 * for a child process.
 */
import { Command, CommanderError } from "commander";
import { EXIT_INTERNAL, UserError } from "./errors";
import { commandModules } from "./commands";

/** Where one run reads and writes. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** What a passphrase prompt reads; one that is not a terminal makes the prompt refuse. */
  readonly stdin?: NodeJS.ReadStream;
  /** Sees each user error before its message is printed (a test can assert on its class). */
  readonly onUserError?: (err: UserError) => void;
}

/** The process's own streams: what a user running ./bin/zeroroot gets. */
export const PROCESS_IO: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs `zeroroot <argv>` and returns its exit code (documented in cli/errors.ts). */
export async function run(argv: readonly string[], io: CliIo = PROCESS_IO): Promise<number> {
  const restore = io === PROCESS_IO ? () => undefined : redirectProcess(io);
  const callerExitCode = process.exitCode;
  // Commands report "checked, found problems" by setting process.exitCode; a run starts clean and
  // hands the caller's value back, so one run never leaks its code into the next.
  process.exitCode = undefined;
  try {
    await buildProgram(io).parseAsync(argv as string[], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed.
      const done = ["commander.helpDisplayed", "commander.version", "commander.help"];
      return done.includes(err.code) ? 0 : 2;
    }
    if (err instanceof UserError) {
      io.onUserError?.(err);
      io.stderr(`zeroroot: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr(
      `zeroroot: internal error (a bug, please report it):\n${err instanceof Error ? err.stack : String(err)}\n`,
    );
    return EXIT_INTERNAL;
  } finally {
    process.exitCode = callerExitCode;
    restore();
  }
}

function buildProgram(io: CliIo): Command {
  const program = new Command("zeroroot")
    .description(
      "Provision and keep secure bare-metal servers in three data centers: no SSH, zero root, zero password.",
    )
    .showHelpAfterError("(run with --help for usage)");
  for (const mod of commandModules) mod.register(program);
  // Every sub-command throws instead of exiting and prints usage and help through `io`.
  const wire = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    c.commands.forEach(wire);
  };
  wire(program);
  return program;
}

let redirected = false;

/**
 * Points process.stdout/stderr (and console, which writes through them) and process.stdin at `io`
 * for one in-process run; returns the undo. The command modules print through the process streams,
 * which are process-wide, so two in-process runs at once would mix their output: refused.
 */
function redirectProcess(io: CliIo): () => void {
  if (redirected) throw new Error("zeroroot run(): another in-process run is active; run them one at a time");
  redirected = true;
  const out = process.stdout.write;
  const err = process.stderr.write;
  const stdin = Object.getOwnPropertyDescriptor(process, "stdin");
  process.stdout.write = writer(io.stdout);
  process.stderr.write = writer(io.stderr);
  if (io.stdin) Object.defineProperty(process, "stdin", { value: io.stdin, configurable: true });
  return () => {
    process.stdout.write = out;
    process.stderr.write = err;
    if (io.stdin && stdin) Object.defineProperty(process, "stdin", stdin);
    redirected = false;
  };
}

function writer(sink: (text: string) => void): typeof process.stdout.write {
  return ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    sink(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
    if (done) process.nextTick(done);
    return true;
  }) as typeof process.stdout.write;
}

if (require.main === module || process.argv[1]?.endsWith("bin/zeroroot")) {
  void run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
