/**
 * `zeroroot pki`: the offline root ceremony and the operator's certificate tools. Thin argument
 * handling around lib/pki; every refusal of lib/pki becomes a UserError (exit 1) with its message.
 * Passphrases come from a file descriptor or a no-echo prompt, never from the command line, where
 * they would end up in shell history and `ps`.
 */
import type { Command } from "commander";
import { registerCeremony } from "./pki/ceremony";
import { registerTools } from "./pki/tools";

export function register(program: Command): void {
  const cmd = program
    .command("pki")
    .description("Certificate hierarchy: offline root ceremony, signing, revocation, verification, exports");
  registerCeremony(cmd);
  registerTools(cmd);
}
