/**
 * The kit directory: where the key lives and the kits are written. Checked before anything is
 * written (no `..`, not a symlink, the caller's own, not writable by others, who could otherwise swap
 * a file between our check and the client's read), written atomically: the key with mode 0600 by
 * temporary file and rename; a kit as a whole directory built aside and renamed into place, so a
 * failure leaves the previous kit or none, never half of one.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pki from "../pki";
import { KitError } from "./errors";

export interface KitPaths {
  readonly dir: string;
  readonly key: string;
  readonly csr: string;
}

export function kitPaths(outDir: string, user: string): KitPaths {
  const dir = path.resolve(outDir);
  return { dir, key: path.join(dir, `${user}.key`), csr: path.join(dir, `${user}.csr`) };
}

const shown = (p: string) => `"${pki.escapeForMessage(p.length > 200 ? `${p.slice(0, 200)}…` : p)}"`;

/** Refuses a --out with `..` segments or control characters: the kit goes exactly where it says. */
export function checkOutPath(outDir: string): void {
  if (
    outDir.length === 0 ||
    outDir.length > 4096 ||
    [...outDir].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)
  )
    throw new KitError(
      `--out ${shown(outDir)} is not a usable path; give a directory path without control characters`,
      "usage",
    );
  if (outDir.split(/[/\\]/).includes(".."))
    throw new KitError(
      `--out ${shown(outDir)} contains "..": a kit directory is named without parent steps; give it as an absolute path or one below the current directory`,
      "usage",
    );
}

/** The directory is the caller's own and only the caller may change it. */
function checkOwnDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    throw new KitError(
      `--out ${shown(dir)}: cannot read it (${(err as NodeJS.ErrnoException).code})`,
      "environment",
    );
  }
  if (st.isSymbolicLink())
    throw new KitError(`--out ${shown(dir)} is a symbolic link; give the real directory`, "usage");
  if (!st.isDirectory()) throw new KitError(`--out ${shown(dir)} is not a directory`, "usage");
  if (typeof process.getuid === "function" && st.uid !== process.getuid())
    throw new KitError(
      `--out ${shown(dir)} belongs to uid ${st.uid}, not to you (uid ${process.getuid()}); use a directory of your own`,
      "refused",
    );
  if ((st.mode & 0o022) !== 0)
    throw new KitError(
      `--out ${shown(dir)} is writable by others (mode ${(st.mode & 0o777).toString(8)}); run \`chmod go-w\` on it or use a private directory`,
      "refused",
    );
}

/** Step 1: creates the directory (mode 0700) or checks the existing one; refuses to replace a key. */
export function prepareOutDir(outDir: string, paths: KitPaths): void {
  checkOutPath(outDir);
  if (!fs.existsSync(paths.dir)) {
    try {
      fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new KitError(
        `--out ${shown(paths.dir)}: cannot create it (${(err as NodeJS.ErrnoException).code})`,
        "environment",
      );
    }
  }
  checkOwnDir(paths.dir);
  if (fs.existsSync(paths.key) || isLink(paths.key))
    throw new KitError(
      `${shown(paths.key)} already exists: a key is never replaced (its certificate may be on its way); continue with step 2 (--cert), or move the old key away to start over`,
      "refused",
    );
}

const isLink = (p: string) => {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
};

/** Step 2: the directory of step 1 and its key, read only if no one else can read or change it. */
export function readKeyFile(outDir: string, paths: KitPaths, user: string): string {
  checkOutPath(outDir);
  if (!fs.existsSync(paths.dir))
    throw new KitError(
      `--out ${shown(paths.dir)} does not exist; run step 1 first: zeroroot client kit --user ${user} --dc <dc> --out <dir>`,
      "usage",
    );
  checkOwnDir(paths.dir);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(paths.key);
  } catch {
    throw new KitError(
      `${shown(paths.key)} does not exist: the key of step 1 is needed (a certificate is only usable with the key its CSR was made from)`,
      "usage",
    );
  }
  if (!st.isFile()) throw new KitError(`${shown(paths.key)} is not a regular file`, "refused");
  if ((st.mode & 0o077) !== 0)
    throw new KitError(
      `${shown(paths.key)} is readable or writable by others (mode ${(st.mode & 0o777).toString(8)}); run \`chmod 600\` on it, and make a new key if others may have read it`,
      "refused",
    );
  return readBounded(paths.key, 64 * 1024, "the key");
}

/** Reads at most `max` bytes; a larger file (or a FIFO, /dev/zero) is refused before parsing. */
export function readBounded(file: string, max: number, what: string): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (!fs.fstatSync(fd).isFile())
      throw new KitError(`${what}: ${shown(file)} is not a regular file`, "usage");
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (let r = -1; r !== 0 && n < buf.length; n += r) r = fs.readSync(fd, buf, n, buf.length - n, null);
    if (n > max)
      throw new KitError(
        `${what}: ${shown(file)} is larger than ${max} bytes, more than any certificate chain or key; check that you gave the right file`,
        "refused",
      );
    return buf.subarray(0, n).toString("utf8");
  } catch (err) {
    if (err instanceof KitError) throw err;
    throw new KitError(
      `${what}: cannot read ${shown(file)} (${(err as NodeJS.ErrnoException).code})`,
      "usage",
    );
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function writeAtomic(file: string, data: string | Uint8Array, mode: number): void {
  try {
    pki.writeFileAtomic(file, data, mode);
  } catch (err) {
    throw new KitError(`cannot write ${shown(file)} (${(err as NodeJS.ErrnoException).code})`, "environment");
  }
}
export const writeSecret = (file: string, data: string | Uint8Array) => writeAtomic(file, data, 0o600);
export const writePublic = (file: string, data: string | Uint8Array) => writeAtomic(file, data, 0o644);

export interface KitFile {
  /** A plain file name (no directory part). */
  readonly name: string;
  readonly data: string | Uint8Array;
  /** Key material 0600, the rest 0644. */
  readonly secret: boolean;
}

/**
 * Writes `files` as the directory `<dir>/<name>`: built in a private temporary directory next to it,
 * flushed, then swapped in by rename. The old kit, if any, is removed only after the swap.
 */
export function replaceKitDir(dir: string, name: string, files: readonly KitFile[]): string {
  for (const f of files)
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(f.name) || f.name.includes(".."))
      throw new Error(`kit file name ${shown(f.name)} is not a plain file name`); // a bug, not the user's
  const target = path.join(dir, name);
  const tag = crypto.randomBytes(6).toString("hex");
  const staging = path.join(dir, `.${name}.new-${tag}`);
  const old = path.join(dir, `.${name}.old-${tag}`);
  try {
    fs.mkdirSync(staging, { mode: 0o700 });
    for (const f of files) {
      const fd = fs.openSync(path.join(staging, f.name), "wx", f.secret ? 0o600 : 0o644);
      try {
        fs.fchmodSync(fd, f.secret ? 0o600 : 0o644);
        fs.writeFileSync(fd, f.data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    const hadOld = fs.existsSync(target) || isLink(target);
    if (hadOld) fs.renameSync(target, old);
    fs.renameSync(staging, target);
    if (hadOld) fs.rmSync(old, { recursive: true, force: true });
    return target;
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(target) && fs.existsSync(old)) fs.renameSync(old, target);
    throw new KitError(
      `cannot write the kit ${shown(target)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      "environment",
    );
  }
}
