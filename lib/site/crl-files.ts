/**
 * CRL files a verifier reads, re-read when they change. Each call to `current()` costs one stat per
 * file (microseconds), so a CRL published by copying a new file in place takes effect on the next
 * request, with no signal and no reload window. A file that disappears, is too large or does not parse
 * keeps its last good copy (a half-written file must not drop a revocation) and is reported once; one
 * that never parsed gives no CRL, so the issuer it was meant for is refused ("crl-missing").
 */
import { readFileSync, statSync } from "node:fs";
import { escapeForMessage, parseCrl, type ParsedCrl } from "../pki";

/** Largest CRL file read; lib/pki refuses larger CRLs anyway (about 100,000 revocations). */
export const MAX_CRL_FILE_BYTES = 4 * 1024 * 1024;

interface Loaded {
  stamp: string;
  data?: Buffer;
  crl?: ParsedCrl;
  /** What was last reported for this file, so that each problem is logged once, not per request. */
  reported?: string;
}

export class CrlFiles {
  private readonly files = new Map<string, Loaded>();

  constructor(
    private readonly paths: readonly string[],
    private readonly log: (msg: string) => void,
    private readonly now: () => Date = () => new Date(),
  ) {
    for (const p of paths) this.files.set(p, { stamp: "" });
  }

  /** The CRLs to verify with now (raw DER or PEM), re-reading the files that changed. */
  current(): Buffer[] {
    const out: Buffer[] = [];
    for (const path of this.paths) {
      const f = this.files.get(path) as Loaded;
      this.refresh(path, f);
      if (f.data) out.push(f.data);
    }
    return out;
  }

  private refresh(path: string, f: Loaded): void {
    let stamp: string;
    let size: number;
    try {
      const s = statSync(path);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
      size = s.size;
    } catch (err) {
      return this.report(
        f,
        `CRL file ${path} cannot be read (${(err as NodeJS.ErrnoException).code}); ${this.keeping(f)}`,
      );
    }
    if (stamp !== f.stamp) {
      f.stamp = stamp;
      if (size > MAX_CRL_FILE_BYTES)
        return this.report(
          f,
          `CRL file ${path} is ${size} bytes, over ${MAX_CRL_FILE_BYTES}; ${this.keeping(f)}`,
        );
      try {
        const data = readFileSync(path);
        const crl = parseCrl(data);
        f.data = data;
        f.crl = crl;
        f.reported = undefined;
        this.log(
          `CRL ${path} loaded: number ${crl.number ?? "none"}, ${crl.revoked.size} revoked, next update ${crl.nextUpdate?.toISOString() ?? "none"}`,
        );
      } catch (err) {
        return this.report(
          f,
          `CRL file ${path} does not parse (${escapeForMessage((err as Error).message)}); ${this.keeping(f)}`,
        );
      }
    }
    if (f.crl?.nextUpdate && this.now() > f.crl.nextUpdate)
      this.report(
        f,
        `STALE CRL ${path} (number ${f.crl.number ?? "none"}): past its next update ${f.crl.nextUpdate.toISOString()}; publish a new one`,
      );
  }

  private keeping(f: Loaded): string {
    return f.crl
      ? `keeping CRL number ${f.crl.number ?? "none"} read before`
      : "no CRL of this file is in force";
  }

  private report(f: Loaded, msg: string): void {
    if (f.reported === msg) return;
    f.reported = msg;
    this.log(msg);
  }
}
