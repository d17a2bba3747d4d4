/**
 * The one way the agent writes a file it depends on (its state, supervisord sections, rendered
 * configuration, service keys and certificates): a new file next to the target, written and synced,
 * renamed over the target, and the folder synced. A crash or power loss leaves the old file or the new
 * one, never a truncated one; the temporary name is created exclusively, so a link planted under that
 * name is never followed.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

export function writeFileAtomic(file: string, data: string | Buffer, mode: number): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", mode);
  try {
    writeFileSync(fd, data);
    fchmodSync(fd, mode); // the mode asked, whatever the umask
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
  syncFolder(dir);
}

/** Makes a rename in `dir` durable (the folder's entry, not only the file's bytes). */
export function syncFolder(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
