/**
 * The control-plane client for site services, operators and the provider (the node agent's bundle uses
 * client-h2.ts in its place): etcd3 over mutual TLS, with a
 * deadline on every call and errors typed by what the caller should do about them. The identity is a
 * client certificate (CN = etcd user) whose key was made where it is used; no password, no token.
 *
 * Endpoints must be DNS names carried by the members' certificates (e.g.
 * https://etcd.dc1.zeroroot.example:2379): connecting by IP makes Node set an IP as TLS ServerName,
 * which RFC 6066 forbids and Node warns about.
 */
import {
  Etcd3,
  EtcdPermissionDeniedError,
  EtcdUserNotFoundError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  ClientClosedError,
  ClientRuntimeError,
  type IOptions,
  type Watcher,
} from "etcd3";
import { InterceptingCall, status as GrpcStatus, type Interceptor } from "@grpc/grpc-js";
import { once } from "node:events";
import { releaseRefusedWatches } from "./etcd3-refused-watch";
import {
  checkEndpoints,
  type ControlPlaneClientOptions,
  type KeyValueClient,
  type Entry,
  type WatchHandle,
  type WatchHandlers,
} from "./client-api";
import {
  ControlPlaneConfigError,
  ControlPlaneError,
  PermissionDeniedError,
  UnreachableError,
} from "./errors";

// what both clients share (the agent's bundle uses client-h2.ts instead of this file)
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

/** Maps whatever etcd3 / grpc threw to a ControlPlaneError. Exported for tests. */
export function classify(err: unknown, operation: string): ControlPlaneError {
  if (err instanceof ControlPlaneError) return err;
  const e = err as Error;
  const detail = e?.message ?? String(err);
  if (err instanceof EtcdPermissionDeniedError)
    return new PermissionDeniedError(operation, detail, { cause: err });
  // a certificate whose CN is no etcd user: the identity is unknown, which is a refusal, not an outage
  if (
    err instanceof EtcdUserNotFoundError ||
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdInvalidAuthTokenError
  ) {
    return new PermissionDeniedError(operation, detail, { cause: err });
  }
  if (err instanceof GRPCDeadlineExceededError)
    return new UnreachableError("timeout", operation, detail, { cause: err });
  if (err instanceof GRPCUnavailableError || err instanceof ClientRuntimeError)
    return new UnreachableError("unreachable", operation, detail, { cause: err });
  if (err instanceof ClientClosedError)
    return new ControlPlaneError("closed", operation, detail, { cause: err });
  if (/permission denied/i.test(detail)) return new PermissionDeniedError(operation, detail, { cause: err });
  return new ControlPlaneError("protocol", operation, detail, { cause: err });
}

type WatchBackoff = NonNullable<NonNullable<IOptions["faultHandling"]>["watchBackoff"]>;

/** Longest wait between two attempts to reopen a watch stream. */
const WATCH_RETRY_MAX_MS = 3000;

/**
 * Reopening a lost watch stream: doubling from 100 ms up to WATCH_RETRY_MAX_MS, jittered so that
 * clients cut off together do not come back together. etcd3's default grows to 30 s; the one
 * timer it may have pending when close() is called cannot be reached, so the cap also bounds how
 * long a closed client can keep its process alive.
 */
function watchBackoff(delayMs = 100): WatchBackoff {
  return {
    duration: delayMs * (0.5 + Math.random() / 2),
    next: () => watchBackoff(Math.min(delayMs * 2, WATCH_RETRY_MAX_MS)),
  };
}

/**
 * Every gRPC call in flight on any channel etcd3 opens (one per member and service, opened again
 * after a failover), so that close() can end them: grpc-js's Channel.close() lets calls in flight
 * run on, and a watch stream runs until the member ends it, which holds the process open.
 */
function callsInFlight(): { interceptor: Interceptor; cancelAll(): void } {
  const live = new Set<InterceptingCall>();
  const interceptor: Interceptor = (options, nextCall) => {
    const call: InterceptingCall = new InterceptingCall(nextCall(options), {
      start: (metadata, _listener, next) =>
        next(metadata, {
          onReceiveStatus: (status, done) => {
            live.delete(call);
            done(status);
          },
        }),
    });
    live.add(call);
    return call;
  };
  const cancelAll = () => {
    for (const call of [...live]) call.cancelWithStatus(GrpcStatus.CANCELLED, "the client is closed");
    live.clear();
  };
  return { interceptor, cancelAll };
}

export class ControlPlaneClient implements KeyValueClient {
  private readonly etcd: Etcd3;
  private readonly timeoutMs: number;
  private readonly calls = callsInFlight();
  /** Watchers made by watch() and not cancelled: etcd3 reopens their stream for as long as they are attached. */
  private readonly watchers = new Set<Watcher>();
  private closed = false;

  constructor(opts: ControlPlaneClientOptions) {
    checkEndpoints(opts.endpoints);
    this.timeoutMs = opts.timeoutMs ?? 5000;
    const perCall = Math.max(200, Math.floor(this.timeoutMs / 2));
    try {
      this.etcd = this.open(opts, perCall);
    } catch (e) {
      // the message of a PEM parse failure names no secret; the key itself is never echoed
      throw new ControlPlaneConfigError(
        `identity: the trust anchors, certificate chain or private key cannot be loaded (${(e as Error).message}); give PEM text`,
      );
    }
  }

  private open(opts: ControlPlaneClientOptions, perCall: number): Etcd3 {
    const etcd = new Etcd3({
      hosts: [...opts.endpoints],
      credentials: {
        rootCertificate: Buffer.from(opts.identity.trustAnchorsPem),
        certChain: Buffer.from(opts.identity.certificateChainPem),
        privateKey: Buffer.from(opts.identity.privateKeyPem),
      },
      dialTimeout: perCall,
      // grpc-js asks DNS for a TXT service config of every endpoint name; ours never publish one, and
      // where no resolver answers (a node, a management network) each lookup waits out its timeouts
      // and holds the process open after close().
      // interceptors: read by grpc-js's Client from these options, applied to every call of every channel
      grpcOptions: { "grpc.service_config_disable_resolution": 1, interceptors: [this.calls.interceptor] },
      faultHandling: { watchBackoff: watchBackoff() },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + perCall }),
    });
    releaseRefusedWatches(etcd);
    return etcd;
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new UnreachableError("timeout", operation, `no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([fn(), deadline]);
    } catch (e) {
      throw classify(e, operation);
    } finally {
      clearTimeout(timer);
    }
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.getEntry(key))?.value;
  }

  async getEntry(key: string): Promise<Entry | undefined> {
    return this.call(`get ${key}`, async () => {
      const res = await this.etcd.get(key).exec();
      const kv = res.kvs[0];
      return kv ? { value: kv.value.toString(), modRevision: kv.mod_revision } : undefined;
    });
  }

  /** Every key under `prefix` (which must end in "/"), as key → value. */
  async list(prefix: string): Promise<Record<string, string>> {
    if (!prefix.endsWith("/"))
      throw new ControlPlaneConfigError(`list: prefix "${prefix}" must end with "/"`);
    return this.call(`list ${prefix}`, () => this.etcd.getAll().prefix(prefix).strings());
  }

  async put(key: string, value: string): Promise<void> {
    await this.call(`put ${key}`, () => this.etcd.put(key).value(value).exec());
  }

  async delete(key: string): Promise<void> {
    await this.call(`delete ${key}`, () => this.etcd.delete().key(key).exec());
  }

  /** Watches one key (or a prefix); resolves once the watch is established on a member. */
  async watch(
    key: string,
    handlers: WatchHandlers,
    opts: { readonly prefix?: boolean } = {},
  ): Promise<WatchHandle> {
    const operation = `watch ${key}`;
    if (this.closed) throw new ControlPlaneError("closed", operation, "the client is closed");
    const builder = this.etcd.watch();
    // watcher() rather than create(): create() hides the watcher until etcd accepts it, and one that is
    // never accepted (no member answers) stays attached, reconnecting, with nothing left to cancel it
    const watcher: Watcher = (opts.prefix ? builder.prefix(key) : builder.key(key)).watcher();
    this.watchers.add(watcher);
    const cancel = async () => {
      this.watchers.delete(watcher);
      await watcher.cancel();
    };
    try {
      // once() rejects on the "error" etcd3 emits when etcd refuses the watch
      await this.call(operation, () => once(watcher, "connected"));
    } catch (e) {
      cancel().catch(() => undefined);
      throw e;
    }
    // after close() the watcher still hears its stream end; nobody is listening any more
    const open = () => !this.closed;
    watcher.on(
      "put",
      (kv) => open() && handlers.onPut(kv.key.toString(), kv.value.toString(), kv.mod_revision),
    );
    watcher.on("delete", (kv) => open() && handlers.onDelete?.(kv.key.toString(), kv.mod_revision));
    watcher.on("disconnected", (err) => open() && handlers.onDisconnected?.(classify(err, operation)));
    watcher.on("connected", () => open() && handlers.onConnected?.());
    // without a listener an "error" event would crash the process; disconnections are reported above
    watcher.on("error", (err) => open() && handlers.onDisconnected?.(classify(err, operation)));
    return { cancel };
  }

  /**
   * Releases everything the client opened, at once: detaches the watchers (etcd3 would otherwise
   * reopen their stream, retrying for ever), closes every channel (etcd3's close()), then ends the
   * calls still in flight, the watch stream among them. Nothing is awaited; later calls are refused
   * with kind "closed". What it cannot reach ends by itself: etcd3's pending watch reconnection
   * (at most WATCH_RETRY_MAX_MS) and its 1 s wait before closing a channel still connecting.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const watcher of this.watchers) watcher.cancel().catch(() => undefined);
    this.watchers.clear();
    this.etcd.close();
    this.calls.cancelAll();
  }
}
