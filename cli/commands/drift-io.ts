/**
 * What the drift command and its schedule sub-command share: their user-error exit code and atomic
 * writes of what they produce.
 */
import { renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { UserError } from "../errors";

/** A UserError with exit code 1: for drift, 2 means "drift found", never "bad input". */
export const fail = (message: string) => new UserError(message, 1);

export function writeAtomic(file: string, text: string, mode = 0o600): void {
  const tmp = join(dirname(file), `.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, text, { mode });
    renameSync(tmp, file);
  } catch (e) {
    throw fail(`${file}: cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
