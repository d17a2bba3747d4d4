/**
 * Bounds of the site services, enforced by Node's own HTTP and TLS server machinery (not hand code).
 * Why each value: docs/site.md ("Limits").
 */
export interface SiteLimits {
  /** Concurrent TCP connections; more are dropped at accept. */
  readonly maxConnections: number;
  /** Bytes of request line plus headers (431 beyond). */
  readonly maxHeaderSize: number;
  /** A TLS handshake not finished in this time is cut (ms). */
  readonly handshakeTimeoutMs: number;
  /** Request headers not complete in this time get 408 (ms). */
  readonly headersTimeoutMs: number;
  /** A whole request (headers and body) not received in this time gets 408 (ms). */
  readonly requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this (ms). */
  readonly keepAliveTimeoutMs: number;
  /** A socket with no traffic either way for this long is closed, whatever it was doing (ms). */
  readonly idleTimeoutMs: number;
  /** Requests served on one connection before it is closed. */
  readonly maxRequestsPerSocket: number;
  /** How often Node checks the header and request timeouts (ms): their granularity. */
  readonly timeoutCheckIntervalMs: number;
}

export const DEFAULT_SITE_LIMITS: SiteLimits = {
  maxConnections: 256,
  maxHeaderSize: 8 * 1024,
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxRequestsPerSocket: 100,
  timeoutCheckIntervalMs: 1_000,
};

/** Largest request body of each POST route (bytes); what each carries fits with a wide margin. */
export const BODY_LIMITS = {
  /** {serverId, hostname, mac}: under 400 bytes. */
  arm: 4 * 1024,
  /** {mac, csrPem}: an RSA-4096 CSR is about 3.3 KiB of PEM. */
  enroll: 16 * 1024,
  /** {instance, csrPem}. */
  serviceCsr: 16 * 1024,
  /** Up to 4,096 listening ports. */
  ready: 64 * 1024,
} as const;
