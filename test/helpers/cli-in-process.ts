/**
 * A fresh commander program for running one command module in-process: every command throws instead
 * of exiting and writes no usage or help text, so a test sees the error a user would get.
 */
import { Command } from "commander";

export function quietProgram(register: (program: Command) => void): Command {
  const program = new Command("zeroroot").exitOverride();
  register(program);
  const all = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    c.commands.forEach(all);
  };
  all(program);
  return program;
}
