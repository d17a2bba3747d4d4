/**
 * `zeroroot pki` input helpers: repeatable options, refusals of lib/pki as UserErrors, files and
 * passphrases (from a file descriptor or a no-echo prompt, never from the command line).
 */
import * as fs from "node:fs";
import * as pki from "../../../lib/pki";
import { UsageError, UserError } from "../../errors";

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

export function readFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(
      `${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

/** Reads a passphrase from a file descriptor (first line) or, on a terminal, prompts without echo. */
export async function readPassphrase(fd: string | undefined, what: string, confirm = false): Promise<string> {
  if (fd !== undefined) {
    if (!/^\d+$/.test(fd)) throw new UsageError(`--passphrase-fd "${fd}" must be a file descriptor number`);
    const text = fs.readFileSync(Number(fd), "utf8").split(/\r?\n/)[0];
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
