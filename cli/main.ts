/**
 * Entry point of the `zeroroot` command. Each area registers its sub-commands from
 * cli/commands/<area>.ts; this file only wires them and turns errors into exit codes.
 */
import { Command, CommanderError } from "commander";
import { UserError } from "./errors";
import { commandModules } from "./commands";

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("zeroroot")
    .description(
      "Provision and keep secure bare-metal servers in three data centers: no SSH, zero root, zero password.",
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const mod of commandModules) mod.register(program);
  // exitOverride on every sub-command, so usage errors come back here instead of exiting inside commander.
  const overrideAll = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(overrideAll);
  };
  overrideAll(program);
  try {
    await program.parseAsync(argv as string[], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed.
      if (
        err.code === "commander.helpDisplayed" ||
        err.code === "commander.version" ||
        err.code === "commander.help"
      )
        return 0;
      return 2;
    }
    if (err instanceof UserError) {
      process.stderr.write(`zeroroot: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

if (require.main === module || process.argv[1]?.endsWith("bin/zeroroot")) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `zeroroot: internal error (a bug, please report it):\n${err instanceof Error ? err.stack : String(err)}\n`,
      );
      process.exitCode = 70;
    },
  );
}
