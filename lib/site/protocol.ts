/**
 * The site services' HTTP API, shared by the site (agents/site), the installer, the node agent and
 * the BmcServer provider. Every route but two requires a client certificate of the hierarchy:
 * `GET /netboot/<mac>` stands in for DHCP/TFTP (PXE has no client identity) and hands out the
 * one-time token; `POST /enroll` and the image download are authenticated by that token.
 */
export const ROUTES = {
  netboot: (mac: string) => `/netboot/${encodeURIComponent(mac)}`,
  image: (sha256: string) => `/images/${sha256}.tar.zst`,
  enroll: "/enroll",
  ready: "/report/ready",
  arm: "/admin/arm",
  server: (id: string) => `/admin/servers/${encodeURIComponent(id)}`,
  alerts: "/admin/alerts",
  crl: "/crl",
  crls: "/crls",
} as const;

/** `GET /crls`: every CRL the site holds (its own CA's and those of its config), PEM, one per entry. */
export interface CrlBundle {
  readonly crls: readonly string[];
}

/** What a netbooting server learns about its install. */
export interface NetbootConfig {
  readonly serverId: string;
  readonly hostname: string;
  readonly token: string;
  readonly siteUrl: string;
  readonly imageSha256: string;
  /** PEM bundle: the data center's issuing CA, then the root. */
  readonly chainPem: string;
  /** Control-plane endpoints, hosts entries and trust the node needs (public facts only). */
  readonly node?: {
    readonly controlPlaneEndpoints?: readonly string[];
    readonly hosts?: Readonly<Record<string, string>>;
    readonly trust?: unknown;
    readonly partitions?: number;
    readonly requireFreshness?: boolean;
  };
}

export interface ArmRequest {
  readonly serverId: string;
  readonly hostname: string;
  /** The PXE MAC; the enrollment token is bound to it. */
  readonly mac: string;
}

export interface EnrollRequest {
  readonly mac: string;
  readonly csrPem: string;
}

export interface EnrollResponse {
  readonly certificatePem: string;
  readonly chainPem: string;
}

export interface ReadyReport {
  readonly agentUser: string;
  readonly agentUid: number;
  readonly listeningTcpPorts: readonly number[];
  readonly bootId: string;
}

export type ServerPhase = "armed" | "netbooted" | "enrolled" | "ready";

export interface ServerStatus {
  readonly serverId: string;
  readonly phase: ServerPhase;
  readonly mac: string;
  readonly certificate?: {
    readonly subject: string;
    readonly issuer: string;
    readonly serial: string;
    readonly notAfter: string;
    readonly pem: string;
  };
  readonly lastReady?: ReadyReport & { readonly at: string };
}
