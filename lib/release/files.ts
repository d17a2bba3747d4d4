/**
 * Where a verifier reads a release's files from. A small adapter, so verification stays pure and the
 * node agent, the CLI and tests each give their own source. Sizes come first: a verifier compares
 * every file's size with the manifest before it hashes any (an 8 GiB file listed as 31 bytes is
 * refused by one stat, not after minutes of hashing).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface FileDigest {
  readonly sha256: string;
  readonly size: number;
}

export interface FileSource {
  /** Size in bytes of the regular file at relative POSIX `relPath`, or undefined when there is none. */
  size(relPath: string): number | undefined;
  /**
   * Digest of that file, reading at most `maxBytes + 1` bytes (so that a file that grew since its size
   * was read is still bounded), or undefined when it does not exist.
   */
  digest(relPath: string, maxBytes: number): FileDigest | undefined;
}

export function digestBytes(data: Buffer | string): FileDigest {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  return { sha256: crypto.createHash("sha256").update(buf).digest("hex"), size: buf.length };
}

/** Digest of a file on disk, read in 1 MiB chunks, at most `maxBytes + 1` bytes of it. */
export function digestFile(file: string, maxBytes = Number.MAX_SAFE_INTEGER): FileDigest {
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  let size = 0;
  try {
    for (let n; size <= maxBytes && (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; size += n)
      hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: hash.digest("hex"), size };
}

/**
 * Files under `dir`. Only regular files count, reached without a symbolic link at any step: a link
 * (of the file or of a folder on its way) could point anywhere on the node.
 */
export function directoryFileSource(dir: string): FileSource {
  const regular = (relPath: string): { file: string; size: number } | undefined => {
    let at = dir;
    const parts = relPath.split("/");
    for (let i = 0; i < parts.length; i++) {
      at = path.join(at, parts[i]);
      const st = fs.lstatSync(at, { throwIfNoEntry: false });
      if (!st || (i < parts.length - 1 ? !st.isDirectory() : !st.isFile())) return undefined;
      if (i === parts.length - 1) return { file: at, size: st.size };
    }
    return undefined;
  };
  return {
    size: (relPath) => regular(relPath)?.size,
    digest(relPath, maxBytes) {
      const f = regular(relPath);
      return f ? digestFile(f.file, maxBytes) : undefined;
    },
  };
}

/** Files given in memory (tests, or an agent that already holds the bytes). */
export function memoryFileSource(files: Readonly<Record<string, Buffer | string>>): FileSource {
  const get = (relPath: string) => (Object.hasOwn(files, relPath) ? files[relPath] : undefined);
  return {
    size: (relPath) => {
      const f = get(relPath);
      return f === undefined ? undefined : Buffer.byteLength(f);
    },
    digest: (relPath) => {
      const f = get(relPath);
      return f === undefined ? undefined : digestBytes(f);
    },
  };
}
