/**
 * A minimal strict-DER reader and TLV writer for the issuance fast path (fast-csr.ts, fast-cert.ts).
 * The reader accepts only DER framing (single-byte tags, definite minimal lengths, no overrun); it
 * returns undefined for anything else so the caller can hand the input to the schema parser, which
 * stays the authority for unusual inputs.
 */
import type { IpConverter as IpConverterClass } from "@peculiar/asn1-x509/build/types/ip_converter";

// The schemas' own IP text <-> bytes conversion (not re-exported by the package index), so that the
// fast path formats and parses addresses exactly as the schema path does.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { IpConverter } = require("@peculiar/asn1-x509/build/cjs/ip_converter") as {
  IpConverter: typeof IpConverterClass;
};

export function ipToString(bytes: Uint8Array): string {
  return IpConverter.toString(bytes as unknown as ArrayBuffer); // it reads the bytes via new Uint8Array()
}

export function ipToBytes(ip: string): Uint8Array {
  return new Uint8Array(IpConverter.fromString(ip));
}

/** One TLV: the tag byte, where its value starts and where the whole TLV ends (exclusive). */
export interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly value: number;
  readonly end: number;
}

/** The TLV at `pos`, which must end at or before `limit`; undefined when the bytes are not DER. */
export function readTlv(buf: Uint8Array, pos: number, limit: number): Tlv | undefined {
  if (pos + 2 > limit) return undefined;
  const tag = buf[pos];
  if ((tag & 0x1f) === 0x1f) return undefined; // multi-byte tags: never used by what we read
  let len = buf[pos + 1];
  let value = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // 0x80 is BER's indefinite length; more than 3 length bytes would be a >16 MB CSR.
    if (n === 0 || n > 3 || value + n > limit || buf[value] === 0) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[value + i];
    value += n;
    if (len < 0x80) return undefined; // DER wants the short form
  }
  const end = value + len;
  return end > limit ? undefined : { tag, start: pos, value, end };
}

/** The TLVs that exactly fill [from, to); undefined when they do not. */
export function readAll(buf: Uint8Array, from: number, to: number): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let pos = from; pos < to;) {
    const t = readTlv(buf, pos, to);
    if (!t) return undefined;
    out.push(t);
    pos = t.end;
  }
  return out;
}

/** True when the TLV's bytes equal `expected` (tag, length and value). */
export function tlvEquals(buf: Uint8Array, t: Tlv, expected: Uint8Array): boolean {
  if (t.end - t.start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (buf[t.start + i] !== expected[i]) return false;
  return true;
}

/** Dotted form of an OBJECT IDENTIFIER's value bytes; undefined when not minimally encoded. */
export function decodeOid(buf: Uint8Array, from: number, to: number): string | undefined {
  if (from >= to) return undefined;
  const arcs: number[] = [];
  let v = 0;
  for (let i = from; i < to; i++) {
    const b = buf[i];
    if (v === 0 && b === 0x80) return undefined; // leading 0x80 is not minimal
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) return undefined;
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
    } else if (i === to - 1) return undefined; // truncated arc
  }
  const first = arcs[0] < 80 ? Math.floor(arcs[0] / 40) : 2;
  return [first, arcs[0] - first * 40, ...arcs.slice(1)].join(".");
}

function lengthOf(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 4;
}

function writeLength(out: Buffer, pos: number, n: number): number {
  if (n < 0x80) {
    out[pos] = n;
    return pos + 1;
  }
  const bytes = lengthOf(n) - 1;
  out[pos++] = 0x80 | bytes;
  for (let i = bytes - 1; i >= 0; i--) out[pos++] = (n >>> (8 * i)) & 0xff;
  return pos;
}

/** DER TLV of `tag` around the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = Buffer.allocUnsafe(1 + lengthOf(len) + len);
  out[0] = tag;
  let pos = writeLength(out, 1, len);
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
