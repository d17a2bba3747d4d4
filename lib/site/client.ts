/**
 * HTTPS client of the site services. Mutual TLS when given an identity; the server must present a
 * certificate chaining to `trust` (the root), whatever the caller does. Errors say which site and why.
 */
import { request } from "node:https";
import { ROUTES } from "./protocol";
import { crlBundleSchema, describeIssues, MAX_CRL_BUNDLE_BYTES } from "./schemas";

export interface TlsIdentity {
  /** PEM: leaf then intermediates, so the site can build the path to the root. */
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
}

export interface SiteClientOptions {
  /** https://host:port of the site services. */
  readonly url: string;
  /** PEM of the root CA the site's certificate must chain to. */
  readonly trust: string;
  readonly identity?: TlsIdentity;
  /** Server name to check the site certificate against. @default - the URL's host */
  readonly serverName?: string;
  /** @default 10000 */
  readonly timeoutMs?: number;
}

export class SiteError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = "SiteError";
  }
}

export class SiteClient {
  constructor(private readonly opts: SiteClientOptions) {}

  get<T>(path: string, headers: Record<string, string> = {}): Promise<T> {
    return this.send<T>("GET", path, undefined, headers);
  }

  post<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.send<T>("POST", path, body, headers);
  }

  /**
   * Every CRL the site holds (`GET /crls`), checked for shape and size only: whether a CRL is genuine
   * is decided by the caller against the CAs it holds (lib/agent/crl-screen).
   */
  async crls(): Promise<string[]> {
    const r = await this.raw("GET", ROUTES.crls, undefined, {}, MAX_CRL_BUNDLE_BYTES);
    let body: unknown;
    try {
      body = JSON.parse(r.body.toString("utf8"));
    } catch {
      throw new SiteError(
        `GET ${this.opts.url}${ROUTES.crls}: the site answered with something that is not JSON`,
      );
    }
    const parsed = crlBundleSchema.safeParse(body);
    if (!parsed.success)
      throw new SiteError(
        `GET ${this.opts.url}${ROUTES.crls}: not a CRL bundle (${describeIssues(parsed.error)})`,
      );
    return parsed.data.crls;
  }

  /** Raw bytes (the image). */
  getBuffer(path: string, headers: Record<string, string> = {}): Promise<Buffer> {
    return this.raw("GET", path, undefined, headers).then((r) => r.body);
  }

  private async send<T>(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<T> {
    const r = await this.raw(
      method,
      path,
      body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    );
    const text = r.body.toString("utf8");
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new SiteError(
        `${method} ${this.opts.url}${path}: the site answered with something that is not JSON`,
        r.status,
      );
    }
  }

  private raw(
    method: string,
    path: string,
    body: Buffer | undefined,
    headers: Record<string, string>,
    maxBytes = Infinity,
  ): Promise<{ status: number; body: Buffer }> {
    const url = new URL(path, this.opts.url);
    const where = `${method} ${url.origin}${url.pathname}`;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          headers: { ...headers, ...(body ? { "content-length": String(body.length) } : {}) },
          ca: this.opts.trust,
          cert: this.opts.identity?.certificateChainPem,
          key: this.opts.identity?.privateKeyPem,
          servername: this.opts.serverName,
          rejectUnauthorized: true,
          timeout: this.opts.timeoutMs ?? 10_000,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size <= maxBytes) return void chunks.push(c);
            reject(new SiteError(`${where}: answer over ${maxBytes} bytes; not read`));
            req.destroy();
          });
          res.on("end", () => {
            const data = Buffer.concat(chunks);
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve({ status, body: data });
            let reason = data.toString("utf8").slice(0, 300);
            try {
              reason = (JSON.parse(reason) as { error?: string }).error ?? reason;
            } catch {
              /* plain text */
            }
            reject(new SiteError(`${where}: ${status} ${reason}`, status));
          });
        },
      );
      req.on("timeout", () =>
        req.destroy(
          new SiteError(
            `${where}: no answer within ${this.opts.timeoutMs ?? 10_000} ms`,
            undefined,
            "ETIMEDOUT",
          ),
        ),
      );
      req.on("error", (err: NodeJS.ErrnoException) =>
        reject(
          err instanceof SiteError ? err : new SiteError(`${where}: ${err.message}`, undefined, err.code),
        ),
      );
      req.end(body);
    });
  }
}
