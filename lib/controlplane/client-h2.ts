/**
 * The node agent's control-plane client: the same calls, options and typed errors as client.ts,
 * over Node's own HTTP/2 with the etcd messages encoded by hand (etcd-wire.ts, grpc-h2.ts), so the
 * agent loads neither grpc-js nor protobufjs nor etcd's parsed .proto files (docs/agent.md,
 * "Footprint"). The agent's bundle puts this file in place of client.ts (agents/node/bundle.ts);
 * operators, sites and the provider keep etcd3.
 *
 * Each call has one deadline (timeoutMs); within it an unreachable or silent member is left for the
 * next one. A watch is a stream of its own; when its member goes away it reports onDisconnected,
 * resumes on the next member from the revision after the last it saw, then reports onConnected.
 */
import {
  checkEndpoints,
  type ControlPlaneClientOptions,
  type Entry,
  type KeyValueClient,
  type WatchHandle,
  type WatchHandlers,
} from "./client-api";
import {
  ControlPlaneConfigError,
  ControlPlaneError,
  PermissionDeniedError,
  UnreachableError,
} from "./errors";
import * as wire from "./etcd-wire";
import { GRPC, GrpcChannel, GrpcError } from "./grpc-h2";
import { prefixEnd } from "./keys";

export {
  checkEndpoints,
  ComputerChannel,
  type ClientIdentity,
  type ControlPlaneClientOptions,
  type Entry,
  type KeyValueClient,
  type WatchHandle,
  type WatchHandlers,
} from "./client-api";

/** The largest message accepted from a member: grpc-js's default, which the etcd3 client has. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const KV = "/etcdserverpb.KV/";
const WATCH = "/etcdserverpb.Watch/Watch";

// what etcd says when the certificate's CN is no user, or the user lacks the permission
const REFUSED =
  /permission denied|user name not found|authentication failed|invalid auth token|user name is empty/i;

/** Maps a gRPC status, a transport failure or a malformed message to a ControlPlaneError. */
export function classify(err: unknown, operation: string): ControlPlaneError {
  if (err instanceof ControlPlaneError) return err;
  if (err instanceof wire.WireError)
    return new ControlPlaneError("protocol", operation, err.message, { cause: err });
  const detail = (err as Error)?.message ?? String(err);
  if (!(err instanceof GrpcError))
    return new ControlPlaneError("protocol", operation, detail, { cause: err });
  if (REFUSED.test(err.details) || err.code === 7 || err.code === 16)
    return new PermissionDeniedError(operation, detail, { cause: err });
  if (err.code === GRPC.deadlineExceeded)
    return new UnreachableError("timeout", operation, detail, { cause: err });
  if (err.code === GRPC.unavailable || err.code === GRPC.transport)
    return new UnreachableError("unreachable", operation, detail, { cause: err });
  return new ControlPlaneError("protocol", operation, detail, { cause: err });
}

const retryable = (e: ControlPlaneError) => e.kind === "unreachable" || e.kind === "timeout";
const bytes = (latin1: string) => Buffer.from(latin1, "latin1");

export class ControlPlaneClient implements KeyValueClient {
  private readonly channel: GrpcChannel;
  private readonly timeoutMs: number;
  private readonly perAttemptMs: number;
  private readonly attempts: number;
  private readonly watches = new Set<WatchStream>();
  private closed = false;

  constructor(opts: ControlPlaneClientOptions) {
    checkEndpoints(opts.endpoints);
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.perAttemptMs = Math.max(200, Math.floor(this.timeoutMs / 2));
    this.attempts = opts.endpoints.length + 1;
    const { trustAnchorsPem: ca, certificateChainPem: cert, privateKeyPem: key } = opts.identity;
    for (const [what, pem] of [
      ["trust anchors", ca],
      ["certificate chain", cert],
      ["private key", key],
    ])
      if (!/-----BEGIN [A-Z0-9 ]+-----/.test(pem))
        throw new ControlPlaneConfigError(`identity: the ${what} is not PEM text; give PEM text`);
    this.channel = new GrpcChannel(opts.endpoints, { ca, cert, key }, MAX_MESSAGE_BYTES);
  }

  /** Runs `attempt` on the member in use, then on the next ones while the deadline allows. */
  async call<T>(operation: string, attempt: (budgetMs: number) => Promise<T>): Promise<T> {
    if (this.closed) throw new ControlPlaneError("closed", operation, "close() was called");
    const end = Date.now() + this.timeoutMs;
    let last: ControlPlaneError | undefined;
    for (let i = 0; i < this.attempts; i++) {
      const left = end - Date.now();
      if (left <= 0) break;
      try {
        return await attempt(Math.min(left, this.perAttemptMs));
      } catch (e) {
        last = this.closed
          ? new ControlPlaneError("closed", operation, "close() was called")
          : classify(e, operation);
        if (!retryable(last)) throw last;
        this.channel.rotate();
      }
    }
    throw last ?? new UnreachableError("timeout", operation, `no answer within ${this.timeoutMs} ms`);
  }

  private unary(operation: string, method: string, body: Buffer): Promise<Buffer> {
    return this.call(operation, (ms) => this.channel.unary(KV + method, body, ms));
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.getEntry(key))?.value;
  }

  async getEntry(key: string): Promise<Entry | undefined> {
    const operation = `get ${key}`;
    const res = await this.decode(operation, await this.unary(operation, "Range", wire.encodeRange(key)));
    const kv = res.kvs[0];
    return kv ? { value: kv.value, modRevision: kv.modRevision } : undefined;
  }

  async list(prefix: string): Promise<Record<string, string>> {
    if (!prefix.endsWith("/"))
      throw new ControlPlaneConfigError(`list: prefix "${prefix}" must end with "/"`);
    const operation = `list ${prefix}`;
    const body = wire.encodeRange(prefix, bytes(prefixEnd(prefix)));
    const res = await this.decode(operation, await this.unary(operation, "Range", body));
    return Object.fromEntries(res.kvs.map((kv) => [kv.key, kv.value]));
  }

  private decode(operation: string, message: Buffer): wire.RangeResponse {
    try {
      return wire.decodeRangeResponse(message);
    } catch (e) {
      throw classify(e, operation);
    }
  }

  async put(key: string, value: string): Promise<void> {
    await this.unary(`put ${key}`, "Put", wire.encodePut(key, value));
  }

  async delete(key: string): Promise<void> {
    await this.unary(`delete ${key}`, "DeleteRange", wire.encodeDeleteRange(key));
  }

  async watch(
    key: string,
    handlers: WatchHandlers,
    opts: { readonly prefix?: boolean } = {},
  ): Promise<WatchHandle> {
    const operation = `watch ${key}`;
    const w = new WatchStream(
      this.channel,
      key,
      opts.prefix ? prefixEnd(key) : undefined,
      handlers,
      operation,
    );
    await this.call(operation, (ms) => w.open(ms));
    this.watches.add(w);
    return {
      cancel: async () => {
        this.watches.delete(w);
        w.cancel();
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches) w.cancel();
    this.watches.clear();
    this.channel.close();
  }
}

/** One watch on its own stream, reopened (on the next member, from the next revision) when it drops. */
class WatchStream {
  private stream?: { write(m: Buffer): void; cancel(): void };
  private next = 0n; // 0: from now
  private cancelled = false;
  private backoffMs = 500;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly channel: GrpcChannel,
    private readonly key: string,
    private readonly rangeEnd: string | undefined,
    private readonly handlers: WatchHandlers,
    private readonly operation: string,
  ) {}

  /** Opens the stream and resolves once etcd says the watch is created. */
  open(budgetMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let created = false;
      const timer = setTimeout(() => {
        this.stream?.cancel();
        reject(new GrpcError(GRPC.deadlineExceeded, `watch not created within ${budgetMs} ms`));
      }, budgetMs);
      const fail = (e: unknown) => {
        clearTimeout(timer);
        this.stream?.cancel();
        if (created) this.dropped(classify(e, this.operation));
        else reject(e);
      };
      this.stream = this.channel.stream(
        WATCH,
        (m) => {
          let res: wire.WatchResponse;
          try {
            res = wire.decodeWatchResponse(m);
          } catch (e) {
            return fail(e);
          }
          if (res.canceled) {
            // compacted past our revision: start again from now (the agent reads again on connect)
            if (res.compactRevision !== "0") this.next = 0n;
            return fail(
              new GrpcError(
                res.compactRevision !== "0" ? GRPC.unavailable : 7,
                res.cancelReason || "watch canceled by the member",
              ),
            );
          }
          if (res.created && !created) {
            created = true;
            clearTimeout(timer);
            this.backoffMs = 500;
            this.advance(res.revision);
            return resolve();
          }
          for (const ev of res.events) {
            this.advance(ev.kv.modRevision);
            if (ev.type === "put") this.handlers.onPut(ev.kv.key, ev.kv.value, ev.kv.modRevision);
            else this.handlers.onDelete?.(ev.kv.key, ev.kv.modRevision);
          }
        },
        (status) =>
          fail(status.code === 0 ? new GrpcError(GRPC.unavailable, "the member ended the watch") : status),
      );
      this.stream.write(
        wire.encodeWatchCreate(
          this.key,
          this.rangeEnd === undefined ? undefined : bytes(this.rangeEnd),
          this.next,
        ),
      );
    });
  }

  private advance(revision: string): void {
    const r = BigInt(revision) + 1n;
    if (r > this.next) this.next = r;
  }

  private dropped(error: ControlPlaneError): void {
    if (this.cancelled) return;
    this.handlers.onDisconnected?.(error);
    this.channel.rotate();
    this.retry = setTimeout(() => void this.reopen(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
  }

  private async reopen(): Promise<void> {
    if (this.cancelled) return;
    try {
      await this.open(5000);
      if (!this.cancelled) this.handlers.onConnected?.();
    } catch (e) {
      this.dropped(classify(e, this.operation));
    }
  }

  cancel(): void {
    this.cancelled = true;
    clearTimeout(this.retry);
    this.stream?.cancel();
  }
}
