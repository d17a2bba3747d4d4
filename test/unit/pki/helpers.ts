/** Shared helpers of the pki unit tests: a temp dir, openssl/keytool runners, an in-process CLI. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FD, runCli } from "../../helpers/cli";
import type { UserError } from "../../../cli/errors";
import * as pki from "../../../lib/pki";

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

/**
 * Runs `zeroroot pki ...` in-process (test/helpers/cli.ts); a passphrase is handed over through a
 * fresh file descriptor. A commander usage error (no UserError) fails the test, as it always did.
 */
export async function cli(args: string[], passphrase?: string): Promise<{ error?: UserError }> {
  const fd = passphrase !== undefined ? `${passphrase}\n` : undefined;
  const r = await runCli(["pki", ...args, ...(fd !== undefined ? ["--passphrase-fd", FD] : [])], { fd });
  if (r.code !== 0 && !r.error) throw new Error(`zeroroot pki ${args.join(" ")}: exit ${r.code}\n${r.err}`);
  return r.error ? { error: r.error } : {};
}

/**
 * A ceremony made through the CLI (dc1 with a network, dc2 without), and a leaf issuer through it.
 * The issuer opens dc1's CA once (one 600,000-iteration key decryption, not one per certificate):
 * it makes certificates for tests of other commands; `pki sign` itself is tested where it is the
 * subject (cli-files.test.ts, test/integration/pki/cli.test.ts).
 */
export async function cliCeremony(passphrase: string) {
  const dir = tempDir("ceremony");
  const work = tempDir("work");
  const args = ["init", "--dir", dir, "--domain", "zeroroot.example", "--dcs", "dc1,dc2"];
  const r = await cli([...args, "--network", "dc1=10.77.1.0/24"], passphrase);
  if (r.error) throw r.error;
  let dc1: pki.CertificateAuthority | undefined;
  /** Makes a key and CSR named `name` in `work` (`pki csr`) and has dc1's CA issue a `kind` certificate for it. */
  const issue = async (kind: pki.LeafKind, name: string): Promise<string> => {
    const key = path.join(work, `${name}.key`);
    const csr = path.join(work, `${name}.csr`);
    const out = path.join(work, `${name}.pem`);
    const made = await cli(["csr", "--name", name, "--key-out", key, "--csr-out", csr]);
    if (made.error) throw made.error;
    dc1 ??= pki.openCa(dir, "dc1", passphrase);
    fs.writeFileSync(out, pki.issueFromCsr(dc1, kind, fs.readFileSync(csr)).certificatePem);
    return out;
  };
  return { dir, work, root: path.join(dir, "root", "ca.pem"), issue };
}
