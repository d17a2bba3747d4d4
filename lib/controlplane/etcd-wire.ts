/**
 * The few etcd v3 messages the node agent exchanges, in protobuf's wire format, by hand (field
 * numbers from etcd's rpc.proto and kv.proto, which node_modules/etcd3/proto ships): Range, Put,
 * DeleteRange and Watch create requests (a watch is cancelled by closing its own stream); Range
 * and Watch responses. Replaces protobufjs and grpc-js in the agent (docs/agent.md, "Footprint").
 *
 * Responses come from the network: every length is checked against what is left before anything
 * is read or allocated, varints stop at 10 bytes, groups and unknown wire types are refused, and
 * the whole message is bounded by the caller (the gRPC frame's length). A malformed message throws
 * WireError, nothing else. Revisions (int64) are decimal strings, as etcd3 gives them.
 */

export class WireError extends Error {
  constructor(message: string) {
    super(`malformed etcd message: ${message}`);
    this.name = "WireError";
  }
}

// ---------------------------------------------------------------- encoding

const EMPTY = new Uint8Array(0);

type Field =
  readonly [number, "bytes", Uint8Array | string] | readonly [number, "varint", bigint | number | boolean];

function varint(out: number[], value: bigint): void {
  let v = BigInt.asUintN(64, value); // negative int64 is ten bytes of two's complement, as protobuf does
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/** Encodes fields in order, leaving out zero values as proto3 does. */
export function encode(fields: readonly Field[]): Buffer {
  const out: number[] = [];
  const chunks: Buffer[] = [];
  const flush = () => {
    if (out.length) chunks.push(Buffer.from(out.splice(0)));
  };
  for (const [no, type, value] of fields) {
    if (type === "varint") {
      const v = BigInt(value as bigint | number | boolean as never);
      if (v === 0n) continue;
      varint(out, BigInt(no << 3));
      varint(out, v);
    } else {
      const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
      if (bytes.length === 0) continue;
      varint(out, BigInt((no << 3) | 2));
      varint(out, BigInt(bytes.length));
      flush();
      chunks.push(bytes);
    }
  }
  flush();
  return Buffer.concat(chunks);
}

export const encodeRange = (key: string, rangeEnd?: Uint8Array): Buffer =>
  encode([
    [1, "bytes", key],
    [2, "bytes", rangeEnd ?? EMPTY],
  ]);
export const encodePut = (key: string, value: string): Buffer =>
  encode([
    [1, "bytes", key],
    [2, "bytes", value],
  ]);
export const encodeDeleteRange = (key: string): Buffer => encode([[1, "bytes", key]]);
export const encodeWatchCreate = (
  key: string,
  rangeEnd: Uint8Array | undefined,
  startRevision: bigint,
): Buffer =>
  encode([
    [
      1,
      "bytes",
      encode([
        [1, "bytes", key],
        [2, "bytes", rangeEnd ?? EMPTY],
        [3, "varint", startRevision],
      ]),
    ],
  ]);

// ---------------------------------------------------------------- decoding

class Reader {
  private at = 0;
  constructor(private readonly buf: Uint8Array) {}

  done(): boolean {
    return this.at >= this.buf.length;
  }

  /** Bytes of the last varint read. */
  varintBytes = 0;

  varint(): bigint {
    let v = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.buf.length) throw new WireError("varint runs past the end");
      const b = this.buf[this.at++];
      v |= BigInt(b & 0x7f) << BigInt(7 * i);
      this.varintBytes = i + 1;
      if (b < 0x80) return BigInt.asUintN(64, v);
    }
    throw new WireError("varint longer than 10 bytes");
  }

  /** The next field: its number, wire type, and its value (varint or bytes); fixed-size values skipped. */
  field(): { no: number; type: number; int?: bigint; bytes?: Uint8Array } {
    const tag = this.varint();
    // tags and lengths are 32-bit: a longer varint is one readers disagree on (protobufjs reads 5 bytes)
    if (this.varintBytes > 5) throw new WireError(`a ${this.varintBytes}-byte varint for a field tag`);
    const no = Number(tag >> 3n);
    const type = Number(tag & 7n);
    if (no === 0 || tag >> 3n > 0x1fffffffn) throw new WireError(`field number ${tag >> 3n}`);
    if (type === 0) return { no, type, int: this.varint() };
    if (type === 1 || type === 5) return this.skip(no, type, type === 1 ? 8 : 4);
    if (type === 2) {
      const len = this.varint();
      if (this.varintBytes > 5)
        throw new WireError(`field ${no}: a ${this.varintBytes}-byte varint for a length`);
      if (len > BigInt(this.buf.length - this.at))
        throw new WireError(`field ${no}: length ${len} past the end`);
      const bytes = this.buf.subarray(this.at, this.at + Number(len));
      this.at += Number(len);
      return { no, type, bytes };
    }
    throw new WireError(`field ${no}: wire type ${type} (groups and unknown types are refused)`);
  }

  private skip(no: number, type: number, n: number) {
    if (this.at + n > this.buf.length) throw new WireError(`field ${no}: fixed value past the end`);
    this.at += n;
    return { no, type };
  }
}

/** How a known field is encoded: a 64-bit varint, a 32-bit one (bool, enum), or length-delimited. */
type Shape = "v64" | "v32" | "len";

/**
 * Reads a message, calling `on` for each field; a known field with the wrong wire type is refused,
 * and so is a 32-bit varint of 6 to 9 bytes: encoders write 1-5 bytes (10 when negative), and
 * readers disagree on the rest (protobufjs skips a fixed 10).
 */
function read(
  buf: Uint8Array,
  expected: Record<number, Shape>,
  on: (no: number, int: bigint, bytes: Uint8Array) => void,
): void {
  const r = new Reader(buf);
  while (!r.done()) {
    const f = r.field();
    const want = expected[f.no];
    if (want === undefined) continue; // unknown fields are skipped, as protobuf readers do
    const type = want === "len" ? 2 : 0;
    if (f.type !== type) throw new WireError(`field ${f.no}: wire type ${f.type}, expected ${type}`);
    if (want === "v32" && r.varintBytes > 5 && r.varintBytes < 10)
      throw new WireError(`field ${f.no}: a ${r.varintBytes}-byte varint for a 32-bit value`);
    on(f.no, f.int ?? 0n, f.bytes ?? EMPTY);
  }
}

const int64 = (v: bigint) => BigInt.asIntN(64, v).toString();
/** A bool is read from a varint's low 32 bits, as protobufjs (the library the fuzz compares with) does; etcd sends 0 or 1. */
const bool = (v: bigint) => (v & 0xffffffffn) !== 0n;
const text = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly modRevision: string;
}

/** A message field seen twice is merged, as protobuf does: `into` holds what the first one set. */
export function decodeKeyValue(buf: Uint8Array, into?: KeyValue): KeyValue {
  let { key, value, modRevision } = into ?? { key: "", value: "", modRevision: "0" };
  read(buf, { 1: "len", 2: "v64", 3: "v64", 4: "v64", 5: "len", 6: "v64" }, (no, int, bytes) => {
    if (no === 1) key = text(bytes);
    else if (no === 3) modRevision = int64(int);
    else if (no === 5) value = text(bytes);
  });
  return { key, value, modRevision };
}

/** ResponseHeader.revision: the store's revision when the response was made. */
function decodeHeaderRevision(buf: Uint8Array, revision: string): string {
  read(buf, { 1: "v64", 2: "v64", 3: "v64", 4: "v64" }, (no, int) => {
    if (no === 3) revision = int64(int);
  });
  return revision;
}

export interface RangeResponse {
  readonly revision: string;
  readonly kvs: readonly KeyValue[];
  readonly more: boolean;
  readonly count: string;
}

export function decodeRangeResponse(buf: Uint8Array): RangeResponse {
  let revision = "0";
  const kvs: KeyValue[] = [];
  let more = false;
  let count = "0";
  read(buf, { 1: "len", 2: "len", 3: "v32", 4: "v64" }, (no, int, bytes) => {
    if (no === 1) revision = decodeHeaderRevision(bytes, revision);
    else if (no === 2) kvs.push(decodeKeyValue(bytes));
    else if (no === 3) more = bool(int);
    else count = int64(int);
  });
  return { revision, kvs, more, count };
}

export interface WatchEvent {
  readonly type: "put" | "delete";
  readonly kv: KeyValue;
}

export interface WatchResponse {
  readonly revision: string;
  readonly watchId: string;
  readonly created: boolean;
  readonly canceled: boolean;
  readonly compactRevision: string;
  readonly cancelReason: string;
  readonly events: readonly WatchEvent[];
}

function decodeEvent(buf: Uint8Array): WatchEvent {
  let type: "put" | "delete" = "put";
  let kv: KeyValue | undefined;
  read(buf, { 1: "v32", 2: "len", 3: "len" }, (no, int, bytes) => {
    if (no === 1) {
      // an enum is an int32 on the wire; a value etcd does not define is not guessed at
      const t = BigInt.asIntN(32, int);
      if (t !== 0n && t !== 1n) throw new WireError(`event type ${t}`);
      type = t === 0n ? "put" : "delete";
    } else if (no === 2) kv = decodeKeyValue(bytes, kv);
    else decodeKeyValue(bytes); // prev_kv is never asked for; read anyway so a malformed one is refused
  });
  return { type, kv: kv ?? { key: "", value: "", modRevision: "0" } };
}

export function decodeWatchResponse(buf: Uint8Array): WatchResponse {
  let revision = "0";
  let watchId = "0";
  let created = false;
  let canceled = false;
  let compactRevision = "0";
  let cancelReason = "";
  const events: WatchEvent[] = [];
  read(
    buf,
    { 1: "len", 2: "v64", 3: "v32", 4: "v32", 5: "v64", 6: "len", 7: "v32", 11: "len" },
    (no, int, bytes) => {
      if (no === 1) revision = decodeHeaderRevision(bytes, revision);
      else if (no === 2) watchId = int64(int);
      else if (no === 3) created = bool(int);
      else if (no === 4) canceled = bool(int);
      else if (no === 5) compactRevision = int64(int);
      else if (no === 6) cancelReason = text(bytes);
      else if (no === 11) events.push(decodeEvent(bytes));
    },
  );
  return { revision, watchId, created, canceled, compactRevision, cancelReason, events };
}
