/**
 * Writing key material: a private key must never be readable by others, not even for an instant,
 * whatever file it replaces. Writing over an existing 0644 file with writeFileSync(mode) keeps 0644
 * (mode only applies at creation), so the data goes to a new file created exclusively with mode 0600
 * next to the target, is flushed, and is renamed over it (atomic on POSIX: readers see the old file or
 * the new one, never a partial key; a symlink at the target is replaced, not followed).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Writes `data` to `file` atomically with mode `mode` (default 0600), replacing what was there. */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${crypto.randomBytes(6).toString("hex")}.tmp`,
  );
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  try {
    try {
      fs.fchmodSync(fd, mode); // the umask may have removed bits; never added any
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
