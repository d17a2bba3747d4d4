/**
 * `zeroroot pki` input helpers: repeatable options, refusals of lib/pki as UserErrors, files and
 * passphrases (from a file descriptor or a no-echo prompt, never from the command line).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pki from "../../../lib/pki";
import { EnvironmentError, UsageError, UserError } from "../../errors";

export const collect = (v: string, prev: string[]): string[] => [...prev, v];

export async function guard(fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof pki.PkiError) throw new UserError(err.message);
    throw err;
  }
}

export function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function splitList(v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

export function keyKind(v: string): pki.KeyKind {
  if (!(pki.KEY_KINDS as readonly string[]).includes(v))
    throw new UsageError(`--key-type "${v}" is unknown; allowed: ${pki.KEY_KINDS.join(", ")}`);
  return v as pki.KeyKind;
}

export function parseNetworks(list: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of list) {
    const m = /^([^=]+)=(.+)$/.exec(item);
    if (!m) throw new UsageError(`--network "${item}" must be DC=CIDR, e.g. dc1=10.77.1.0/24`);
    (out[m[1]] ??= []).push(m[2]);
  }
  return out;
}

/** Largest input file read (a CRL's PEM at its maximum); anything larger is refused before parsing. */
const MAX_INPUT_BYTES = pki.MAX_CRL_BYTES * 2 + 4096;

/** Reads a text input, at most MAX_INPUT_BYTES (a FIFO or /dev/zero cannot make it read forever). */
export function readFile(file: string, what: string): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const buf = Buffer.alloc(Math.min(fs.fstatSync(fd).size || MAX_INPUT_BYTES, MAX_INPUT_BYTES) + 1);
    let n = 0;
    for (let r = -1; r !== 0 && n < buf.length; n += r) r = fs.readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_INPUT_BYTES)
      throw new UserError(
        `${what}: ${file} is larger than ${MAX_INPUT_BYTES} bytes; it is not a certificate, CSR, CRL or key`,
      );
    return buf.subarray(0, n).toString("utf8");
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(
      `${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Longest passphrase read from a descriptor: enough for any passphrase, bounded against /dev/zero. */
const MAX_PASSPHRASE_BYTES = 1024;

/** Reads a passphrase from a file descriptor (first line) or, on a terminal, prompts without echo. */
export async function readPassphrase(fd: string | undefined, what: string, confirm = false): Promise<string> {
  if (fd !== undefined) {
    if (!/^\d{1,9}$/.test(fd))
      throw new UsageError(`--passphrase-fd "${fd}" must be a file descriptor number`);
    const text = readFirstLine(Number(fd), what);
    if (!text) throw new UserError(`no ${what} could be read from file descriptor ${fd}`);
    return text;
  }
  if (!process.stdin.isTTY)
    throw new UsageError(`no terminal to prompt for the ${what}: pass --passphrase-fd N`);
  const first = await promptHidden(`${what}: `);
  if (confirm && (await promptHidden(`repeat ${what}: `)) !== first)
    throw new UserError(`the two ${what}s differ`);
  return first;
}

/** The first line of descriptor `fd`, reading at most MAX_PASSPHRASE_BYTES + 1 bytes. */
function readFirstLine(fd: number, what: string): string {
  const buf = Buffer.alloc(MAX_PASSPHRASE_BYTES + 1);
  let n = 0;
  try {
    for (let r = -1; r !== 0 && n < buf.length && !buf.subarray(0, n).includes(0x0a); n += r)
      r = fs.readSync(fd, buf, n, buf.length - n, null);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    if (code === "EBADF")
      throw new UsageError(
        `--passphrase-fd ${fd}: file descriptor ${fd} is not open (EBADF); open it in the shell, e.g. \`${fd}<passphrase.txt\``,
      );
    throw new UsageError(`--passphrase-fd ${fd}: cannot read the ${what} from it (${code})`);
  }
  const newline = buf.subarray(0, n).indexOf(0x0a);
  if (newline < 0 && n > MAX_PASSPHRASE_BYTES)
    throw new UserError(
      `the ${what} read from file descriptor ${fd} is longer than ${MAX_PASSPHRASE_BYTES} bytes`,
    );
  const line = buf
    .subarray(0, newline < 0 ? n : newline)
    .toString("utf8")
    .replace(/\r$/, "");
  buf.fill(0); // the returned string is the only copy left
  return line;
}

/**
 * Writes an output file atomically; key material (`secret`) with mode 0600 whatever file it
 * replaces. A path that cannot be written is the user's to fix: exit 2 when the path itself is wrong
 * (missing folder, a directory), exit 3 when the machine refuses (permissions, read-only, full disk).
 */
export function writeOut(file: string, data: string | Uint8Array, option: string, secret: boolean): void {
  try {
    pki.writeFileAtomic(file, data, secret ? 0o600 : 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new UsageError(
        `${option} ${file}: the folder ${path.dirname(file)} does not exist; create it or choose another path`,
      );
    if (code === "EISDIR") throw new UsageError(`${option} ${file}: is a directory; give a file path`);
    if (code) throw new EnvironmentError(`${option} ${file}: cannot write it (${code})`);
    throw err;
  }
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    process.stderr.write(prompt);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    let value = "";
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off("data", onData);
          process.stderr.write("\n");
          return resolve(value);
        }
        if (ch === "\u0003") process.exit(130);
        value = ch === "\u007f" ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on("data", onData);
  });
}
