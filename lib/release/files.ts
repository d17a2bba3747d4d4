/**
 * Where a verifier reads a release's files from. A small adapter, so verification stays pure and the
 * node agent, the CLI and tests each give their own source.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface FileDigest {
  readonly sha256: string;
  readonly size: number;
}

export interface FileSource {
  /** Digest of the file at relative POSIX `relPath`, or undefined when it does not exist. */
  digest(relPath: string): FileDigest | undefined;
}

export function digestBytes(data: Buffer | string): FileDigest {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  return { sha256: crypto.createHash("sha256").update(buf).digest("hex"), size: buf.length };
}

/** Digest of a file on disk, read in 1 MiB chunks (release files can be large). */
export function digestFile(file: string): FileDigest {
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  let size = 0;
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; size += n)
      hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: hash.digest("hex"), size };
}

/** Files under `dir`; symbolic links and anything but regular files count as missing. */
export function directoryFileSource(dir: string): FileSource {
  return {
    digest(relPath) {
      const file = path.join(dir, ...relPath.split("/"));
      const st = fs.lstatSync(file, { throwIfNoEntry: false });
      return st?.isFile() ? digestFile(file) : undefined;
    },
  };
}

/** Files given in memory (tests, or an agent that already holds the bytes). */
export function memoryFileSource(files: Readonly<Record<string, Buffer | string>>): FileSource {
  return { digest: (relPath) => (Object.hasOwn(files, relPath) ? digestBytes(files[relPath]) : undefined) };
}
