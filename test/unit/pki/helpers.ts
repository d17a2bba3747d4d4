/** Shared helpers of the pki unit tests: a temp dir, openssl/keytool runners, an in-process CLI. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { quietProgram } from "../../helpers/cli-in-process";
import { register } from "../../../cli/commands/pki";
import { UserError } from "../../../cli/errors";

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `zr-${prefix}-`));
}

export interface ToolResult {
  readonly status: number;
  readonly out: string;
}

export function tool(cmd: string, args: string[], input?: string): ToolResult {
  const r = spawnSync(cmd, args, { encoding: "utf8", input });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** `openssl verify` of `cert` for `purpose`; returns its status and output. */
export function opensslVerify(
  root: string,
  untrusted: string,
  cert: string,
  purpose: string,
  crl?: string,
): ToolResult {
  const args = ["verify", "-CAfile", root, "-untrusted", untrusted, "-purpose", purpose];
  if (crl) args.push("-crl_check", "-CRLfile", crl);
  return tool("openssl", [...args, cert]);
}

/** Runs `zeroroot pki ...` in-process; a passphrase is handed over through a fresh file descriptor. */
export async function cli(args: string[], passphrase?: string): Promise<{ error?: UserError }> {
  const program = quietProgram(register);
  let fd: number | undefined;
  if (passphrase !== undefined) {
    const file = path.join(tempDir("pass"), "p");
    fs.writeFileSync(file, `${passphrase}\n`, { mode: 0o600 });
    fd = fs.openSync(file, "r");
    args = [...args, "--passphrase-fd", String(fd)];
  }
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await program.parseAsync(["pki", ...args], { from: "user" });
    return {};
  } catch (err) {
    if (err instanceof UserError) return { error: err };
    throw err;
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    if (fd !== undefined) fs.closeSync(fd);
  }
}
