/**
 * What the two control-plane clients share: options, identity, watch handlers, endpoint checks and
 * the computer's channel. client.ts (etcd3 and grpc-js: operators, sites, the provider) and
 * client-h2.ts (Node's HTTP/2, by hand: the node agent's bundle) both implement KeyValueClient.
 */
import { ControlPlaneConfigError, type ControlPlaneError } from "./errors";
import { keys } from "./keys";
import { httpsOriginProblem } from "../site/origin";

export interface ClientIdentity {
  /** PEM of the trust anchor(s): the platform root certificate. */
  readonly trustAnchorsPem: string;
  /** PEM of the client certificate followed by its issuing CA certificate. */
  readonly certificateChainPem: string;
  /** PEM (PKCS#8) of the client's private key. Never logged. */
  readonly privateKeyPem: string;
}

export interface ControlPlaneClientOptions {
  /** Client URLs of the members, `https://<dns-name>:<port>`. */
  readonly endpoints: readonly string[];
  readonly identity: ClientIdentity;
  /** Upper bound of each get/put/delete, retries on other members included. @default 5000 */
  readonly timeoutMs?: number;
}

export interface WatchHandlers {
  onPut(key: string, value: string, modRevision: string): void;
  onDelete?(key: string, modRevision: string): void;
  /** Called when the watch loses its member; the client reconnects by itself (another member, backoff). */
  onDisconnected?(error: ControlPlaneError): void;
  onConnected?(): void;
}

export interface WatchHandle {
  cancel(): Promise<void>;
}

export interface Entry {
  readonly value: string;
  readonly modRevision: string;
}

export function checkEndpoints(endpoints: readonly string[]): void {
  if (endpoints.length === 0)
    throw new ControlPlaneConfigError(
      "endpoints: empty; give the members' client URLs, e.g. https://etcd.dc1.zeroroot.example:2379",
    );
  for (const e of endpoints) {
    const m = /^https:\/\/([^/:]+):(\d+)$/.exec(e);
    if (!m)
      throw new ControlPlaneConfigError(
        `endpoints: "${e}" is not https://<dns-name>:<port>; plain http is never allowed (mutual TLS)`,
      );
    if (/^[\d.]+$/.test(m[1]) || m[1].includes("[")) {
      throw new ControlPlaneConfigError(
        `endpoints: "${e}" uses an IP address; use the DNS name the member's certificate carries (TLS ServerName cannot be an IP)`,
      );
    }
  }
}

/** The most control-plane members a data center's configuration names (one a data center, room to grow). */
export const MAX_CONTROL_PLANE_ENDPOINTS = 9;

/**
 * Why `e` cannot be a member's client URL, or undefined: an https origin (lib/site/origin.ts) that
 * the clients also take (checkEndpoints). The provider's `controlPlaneEndpoints` and the agent's
 * agent.json are judged by this one rule.
 */
export function controlPlaneEndpointProblem(e: string): string | undefined {
  const origin = httpsOriginProblem(e);
  if (origin) return origin;
  try {
    checkEndpoints([e]);
    return undefined;
  } catch {
    return "the control-plane client connects by the DNS name its members' certificates carry and an explicit port (a TLS server name cannot be an IP address)";
  }
}

/** The calls the agent makes; both clients implement it. */
export interface KeyValueClient {
  get(key: string): Promise<string | undefined>;
  getEntry(key: string): Promise<Entry | undefined>;
  /** Every key under `prefix` (which must end in "/"), as key -> value. */
  list(prefix: string): Promise<Record<string, string>>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Watches one key (or a prefix); resolves once the watch is established on a member. */
  watch(key: string, handlers: WatchHandlers, opts?: { readonly prefix?: boolean }): Promise<WatchHandle>;
  close(): void;
}

/** What one computer's agent does with the control plane: read its orders, write its reports. */
export class ComputerChannel {
  constructor(
    private readonly client: KeyValueClient,
    readonly computerId: string,
  ) {
    keys.computer(computerId);
  }

  readDesired(): Promise<Entry | undefined> {
    return this.client.getEntry(keys.desired(this.computerId));
  }

  watchDesired(
    onChange: (document: string | undefined, modRevision: string) => void,
    more: Omit<WatchHandlers, "onPut" | "onDelete"> = {},
  ): Promise<WatchHandle> {
    return this.client.watch(keys.desired(this.computerId), {
      ...more,
      onPut: (_k, v, rev) => onChange(v, rev),
      onDelete: (_k, rev) => onChange(undefined, rev),
    });
  }

  reportStatus(status: unknown): Promise<void> {
    return this.client.put(keys.status(this.computerId), JSON.stringify(status));
  }

  reportUsage(usage: unknown): Promise<void> {
    return this.client.put(keys.usage(this.computerId), JSON.stringify(usage));
  }

  raiseAlert(alertId: string, alert: unknown): Promise<void> {
    return this.client.put(keys.alert(this.computerId, alertId), JSON.stringify(alert));
  }
}
