/**
 * Just enough gRPC for etcd over Node's own HTTP/2 and mutual TLS: unary calls and bidirectional
 * streams on one session to one member at a time, moved to the next member on failure (`rotate`).
 * No grpc-js and no protobufjs: messages are bytes (etcd-wire.ts encodes and decodes them).
 *
 * A gRPC message is a 5-byte prefix (compressed flag, 4-byte length) and the message; the status
 * comes in the trailers (grpc-status, grpc-message). A peer's length is checked against
 * maxMessageBytes before anything is buffered; compression is never asked for, so a compressed
 * message is refused.
 */
import * as http2 from "node:http2";

/** A gRPC status from the member (code >= 0), or a transport failure (code -1: no answer at all). */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(code < 0 ? details : `gRPC status ${code}: ${details}`);
    this.name = "GrpcError";
  }
}

export const GRPC = { deadlineExceeded: 4, unavailable: 14, transport: -1 } as const;

export interface Tls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Splits a byte stream into gRPC messages, refusing one longer than `max` before buffering it. */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly max: number) {}

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buf.length >= 5) {
      if (this.buf[0] !== 0)
        throw new GrpcError(GRPC.transport, "a compressed gRPC message (never asked for)");
      const len = this.buf.readUInt32BE(1);
      if (len > this.max)
        throw new GrpcError(GRPC.transport, `a gRPC message of ${len} bytes (at most ${this.max})`);
      if (this.buf.length < 5 + len) break;
      out.push(this.buf.subarray(5, 5 + len));
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }

  /** Bytes of an unfinished message at the end of the stream. */
  pending(): number {
    return this.buf.length;
  }
}

export function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

export interface Stream {
  write(message: Buffer): void;
  /** Ends the stream from this side and drops it (no callback follows). */
  cancel(): void;
}

export class GrpcChannel {
  private session?: http2.ClientHttp2Session;
  private index = 0;
  private closed = false;

  constructor(
    private readonly endpoints: readonly string[],
    private readonly tls: Tls,
    private readonly maxMessageBytes: number,
  ) {}

  /** The member in use. */
  endpoint(): string {
    return this.endpoints[this.index];
  }

  /** Drops the session; the next call connects to the next member. */
  rotate(): void {
    const s = this.session;
    this.session = undefined;
    // never from inside a stream's callback: destroying a session there while other streams are
    // open spins Node's HTTP/2 (submitRstStream) at 100% CPU and the event loop never runs again
    if (s) setImmediate(() => s.destroy());
    this.index = (this.index + 1) % this.endpoints.length;
  }

  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.closed) throw new GrpcError(GRPC.transport, "closed");
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const url = new URL(this.endpoint());
    const session = http2.connect(url.origin, {
      ca: this.tls.ca,
      cert: this.tls.cert,
      key: this.tls.key,
      servername: url.hostname,
      // an etcd response larger than this is refused by MessageReader anyway
      maxSessionMemory: 16,
    });
    // errors reach the streams; without a listener a failed handshake would end the process
    session.on("error", () => undefined);
    // no new streams on a session the member is leaving; Node closes it after this event
    session.on("goaway", () => {
      if (this.session === session) this.session = undefined;
    });
    session.on("close", () => {
      if (this.session === session) this.session = undefined;
    });
    // a member that vanished without closing the connection is noticed within a minute
    const ping = setInterval(() => {
      if (session.destroyed) return clearInterval(ping);
      session.ping((err) => err && setImmediate(() => session.destroy()));
    }, 30_000).unref();
    session.on("close", () => clearInterval(ping));
    this.session = session;
    return session;
  }

  private open(path: string, timeoutMs?: number): http2.ClientHttp2Stream {
    const headers: http2.OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    };
    if (timeoutMs !== undefined) headers["grpc-timeout"] = `${Math.max(1, Math.ceil(timeoutMs))}m`;
    return this.connect().request(headers);
  }

  /** One request, one response; rejects with GrpcError (a deadline is GRPC.deadlineExceeded). */
  unary(path: string, message: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let response: Buffer | undefined;
      let status: GrpcError | undefined;
      let stream: http2.ClientHttp2Stream | undefined;
      let done = false;
      const finish = (err?: GrpcError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else if (status && status.code !== 0) reject(status);
        else if (!status) reject(new GrpcError(GRPC.transport, "the stream ended without a gRPC status"));
        else if (!response) reject(new GrpcError(GRPC.transport, "no response message"));
        else resolve(response);
      };
      const timer = setTimeout(() => {
        stream?.close(http2.constants.NGHTTP2_CANCEL);
        finish(new GrpcError(GRPC.deadlineExceeded, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      try {
        stream = this.open(path, timeoutMs);
      } catch (e) {
        return finish(e as GrpcError);
      }
      const reader = new MessageReader(this.maxMessageBytes);
      this.wire(
        stream,
        reader,
        (m) => (response = m),
        (s) => (status = s),
        finish,
      );
      stream.end(frame(message));
    });
  }

  /**
   * A bidirectional stream: `onMessage` for each message, then `onEnd` once, with the status
   * (code 0 when the member ended it cleanly) or the transport failure.
   */
  stream(path: string, onMessage: (m: Buffer) => void, onEnd: (err: GrpcError) => void): Stream {
    let cancelled = false;
    let status: GrpcError | undefined;
    const end = (err?: GrpcError) => {
      if (!cancelled)
        onEnd(err ?? status ?? new GrpcError(GRPC.transport, "the stream ended without a status"));
      cancelled = true;
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.open(path);
    } catch (e) {
      queueMicrotask(() => end(e as GrpcError));
      return { write: () => undefined, cancel: () => (cancelled = true) };
    }
    const reader = new MessageReader(this.maxMessageBytes);
    this.wire(
      stream,
      reader,
      (m) => !cancelled && onMessage(m),
      (s) => (status = s),
      end,
    );
    return {
      write: (m) => {
        if (!cancelled && stream.writable) stream.write(frame(m));
      },
      cancel: () => {
        cancelled = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  private wire(
    stream: http2.ClientHttp2Stream,
    reader: MessageReader,
    onMessage: (m: Buffer) => void,
    onStatus: (s: GrpcError) => void,
    onEnd: (err?: GrpcError) => void,
  ): void {
    const statusOf = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] === undefined) return;
      const code = Number(h["grpc-status"]);
      const raw = String(h["grpc-message"] ?? "");
      let details = raw;
      try {
        details = decodeURIComponent(raw);
      } catch {
        // a malformed percent-encoding is shown as received
      }
      onStatus(new GrpcError(Number.isInteger(code) ? code : GRPC.transport, details.slice(0, 500)));
    };
    let failed: GrpcError | undefined;
    stream.on("response", (h) => {
      const ok = h[":status"] === 200 && String(h["content-type"] ?? "").startsWith("application/grpc");
      if (!ok && h["grpc-status"] === undefined) {
        failed = new GrpcError(
          GRPC.transport,
          `HTTP ${h[":status"]} ${String(h["content-type"] ?? "")} (not gRPC)`,
        );
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }
      statusOf(h); // trailers-only response
    });
    stream.on("trailers", statusOf);
    stream.on("data", (chunk: Buffer) => {
      if (failed) return;
      try {
        for (const m of reader.push(chunk)) onMessage(m);
      } catch (e) {
        failed = e instanceof GrpcError ? e : new GrpcError(GRPC.transport, (e as Error).message);
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }
    });
    stream.on("error", (e: Error) => (failed ??= new GrpcError(GRPC.transport, e.message)));
    stream.on("close", () => {
      if (!failed && reader.pending() > 0)
        failed = new GrpcError(GRPC.transport, "the stream ended inside a message");
      onEnd(failed);
    });
  }
}
