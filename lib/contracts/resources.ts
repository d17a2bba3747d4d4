/**
 * The inputs of zeroroot's custom resources (served by the provider plugin, provider/), as the Pulumi engine, the policy
 * pack and the lab runner see them. Producers (components/) build these objects; consumers
 * (policies/, drift detection, the lab runner) read them. One definition, so that a field renamed
 * here breaks every side at compile time.
 *
 * Component resources carry no inputs the engine can see (a local ComponentResource registers `{}`),
 * so everything a policy must judge lives on one of these custom resources.
 */
import type { KeyKind } from "../pki/keys";

/**
 * Type tokens of zeroroot's custom resources, served by the provider plugin `pulumi-resource-zeroroot`
 * (provider/): `zeroroot:<module>:<Name>`, module = the components/ folder. Public contract: a
 * renamed token needs an alias.
 */
/**
 * Roles a server may have (stack config `roles`); a role picks its image (lib/hardening/roles.ts).
 * Defined here, free of zod, because the bundled policy pack reaches it through the image rules.
 */
export const SERVER_ROLES = ["storage", "compute", "backup"] as const;
export type ServerRole = (typeof SERVER_ROLES)[number];

export const RESOURCE_TYPES: Readonly<Record<ResourceKind, string>> = {
  BmcServer: "zeroroot:fleet:BmcServer",
  BmcCredential: "zeroroot:fleet:BmcCredential",
  HardenedImage: "zeroroot:image:HardenedImage",
  RootCa: "zeroroot:pki:RootCa",
  IssuingCa: "zeroroot:pki:IssuingCa",
  Certificate: "zeroroot:pki:Certificate",
  SoftwareRelease: "zeroroot:release:SoftwareRelease",
  DesiredState: "zeroroot:desired-state:DesiredState",
  ControlPlane: "zeroroot:controlplane:ControlPlane",
};
export const resourceType = (name: ResourceKind): string => RESOURCE_TYPES[name];

/** Defaults the components pass and the plugin's `check` fills in (one definition for both). */
export const RESOURCE_DEFAULTS = {
  /** BmcServer: bound of each provisioning phase (netboot + install; boot to ready). */
  phaseTimeoutSeconds: 600,
  /** SoftwareRelease, DesiredState: deadline of control-plane calls. */
  controlPlaneTimeoutSeconds: 30,
  /**
   * DesiredState: lifetime of each signed document, 180 days (at most 400, DESIRED_STATE_LIMITS).
   * Long-lived: the data center's timestamp service vouches for its currency every few hours.
   */
  validitySeconds: 15_552_000,
} as const;

/** The tokens these resources had as dynamic-provider resources; components alias them so state moves. */
export const DYNAMIC_MODULE = "zeroroot";
export const legacyDynamicType = (name: ResourceKind): string =>
  `pulumi-nodejs:dynamic/${DYNAMIC_MODULE}:${name}`;
/** @deprecated the name of `resourceType` from the dynamic-provider days; kept for lib/rules and tests. */
export const dynamicType = resourceType;

export type ResourceKind =
  | "BmcServer"
  | "BmcCredential"
  | "HardenedImage"
  | "RootCa"
  | "IssuingCa"
  | "Certificate"
  | "SoftwareRelease"
  | "DesiredState"
  | "ControlPlane";

/** IPMI cipher suites zeroroot may use: 3 (HMAC-SHA1, AES-CBC-128) and 17 (HMAC-SHA256, AES-CBC-128). */
export const CIPHER_SUITES = [3, 17] as const;
export type CipherSuite = (typeof CIPHER_SUITES)[number];
export const isCipherSuite = (n: unknown): n is CipherSuite =>
  (CIPHER_SUITES as readonly unknown[]).includes(n);
/** A validated number as a CipherSuite (config validation refuses others first; this never guesses). */
export function asCipherSuite(n: number): CipherSuite {
  if (!isCipherSuite(n))
    throw new RangeError(`IPMI cipher suite ${n} is not allowed; allowed: ${CIPHER_SUITES.join(", ")}`);
  return n;
}

/** A server's baseboard management controller, as the BmcServer resource receives it. */
export interface BmcEndpointInputs {
  readonly address: string;
  readonly port: number;
  readonly username: string;
  /** Always a Pulumi secret: the engine stores it encrypted, policies see it marked secret. */
  readonly password: string;
  readonly cipherSuite: CipherSuite;
  /** Always "2.0" (lanplus); "1.5" is what the BMC rule refuses. */
  readonly ipmiVersion: "2.0" | "1.5";
}

/**
 * A server's BMC credential that nobody knows: a random password (a Pulumi secret) set on a
 * dedicated BMC user, rotated as an update; the initial credential is disabled (docs/bmc.md).
 */
export interface BmcCredentialInputs {
  readonly serverId: string;
  readonly address: string;
  readonly port: number;
  readonly cipherSuite: CipherSuite;
  /** The factory or inventory credential: used to enroll, then disabled. Password always secret. */
  readonly initialUsername: string;
  readonly initialPassword: string;
  /** The managed password (from a RandomPassword); always secret. */
  readonly password: string;
  /** The two user ids zeroroot alternates between. */
  readonly userIds: readonly [number, number];
  readonly channel: number;
  readonly usernameBase: string;
  readonly passwordBytes: 16 | 20;
}

export interface BmcServerInputs {
  readonly serverId: string;
  readonly dataCenter: string;
  readonly hostname: string;
  readonly macs: readonly string[];
  readonly bmc: BmcEndpointInputs;
  /** Where the server should boot from once installed. */
  readonly bootDevice: "pxe" | "disk";
  readonly power: "on" | "off";
}

/** One program run under supervisord, anywhere on the platform. */
export interface ProgramSpec {
  readonly name: string;
  readonly command: string;
  /** The account the program runs as: a name, never "root". */
  readonly user: string;
  readonly uid: number;
  /** Linux capabilities kept by the program; zeroroot's own programs keep none. */
  readonly capabilities: readonly string[];
  readonly noNewPrivileges: boolean;
}

export interface FirewallSpec {
  /** Default policy of the input chain. */
  readonly inputPolicy: "drop" | "accept";
  readonly allowedTcpPorts: readonly number[];
  readonly allowedUdpPorts: readonly number[];
}

/** The hardened operating system one data center's servers are installed with. */
export interface HardenedImageInputs {
  readonly dataCenter: string;
  readonly packages: readonly string[];
  readonly rootLocked: boolean;
  readonly remoteRootLogin: boolean;
  readonly firewall: FirewallSpec;
  readonly users: readonly { readonly name: string; readonly uid: number }[];
  /** Programs PID 1 starts: one supervisord per platform user, and what they supervise. */
  readonly programs: readonly ProgramSpec[];
  readonly specHash: string;
}

/**
 * The HardenedImage resource: the image spec (above) of one data center, and where its archive is.
 * With `imageSha256`, create and read check that `<imageDir>/<imageSha256>.tar.zst` exists there
 * and hashes to it (the file the site serves installers); without, the resource records the spec.
 */
export interface HardenedImageResourceInputs extends HardenedImageInputs {
  /** The site's image directory, on the machine the plugin runs on (the management server). */
  readonly imageDir?: string;
  /** SHA-256 (hex) of the image archive installers download and check. */
  readonly imageSha256?: string;
}

export type CertificateKind = "root" | "issuing" | "user" | "computer" | "software" | "service";

/** A certificate zeroroot issues from a CSR; the key stays where the CSR was made. */
export interface CertificateInputs {
  readonly kind: CertificateKind;
  readonly subject: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly keyType: KeyKind;
  readonly validityDays: number;
  readonly extendedKeyUsage: readonly ("serverAuth" | "clientAuth" | "codeSigning")[];
  readonly csrPem: string;
}

export interface EndpointSpec {
  readonly port: number;
  readonly protocol: "tcp" | "udp";
  /** TLS with a certificate from the platform's hierarchy. */
  readonly tls: boolean;
  /** The endpoint refuses clients without a certificate from the hierarchy. */
  readonly requireClientCertificate: boolean;
}

/** One software instance a computer must run (seed: a SlapOS instance in a partition). */
export interface InstanceSpec {
  readonly name: string;
  readonly release: { readonly name: string; readonly version: string; readonly manifestDigest: string };
  readonly partition: { readonly user: string; readonly uid: number };
  readonly programs: readonly ProgramSpec[];
  readonly endpoints: readonly EndpointSpec[];
  readonly holdsData: boolean;
  /** Seconds after creation before the node agent will agree to destroy the instance. */
  readonly minimumPersistenceSeconds: number;
  readonly parameters: Readonly<Record<string, string>>;
}

export interface DesiredStateInputs {
  readonly computerId: string;
  readonly dataCenter: string;
  readonly instances: readonly InstanceSpec[];
  /** Lifetime of a signed document; the node refuses it after. */
  readonly validitySeconds: number;
}

export interface SoftwareReleaseInputs {
  readonly name: string;
  readonly version: string;
  readonly manifestDigest: string;
  readonly signerCertificatePem: string;
  readonly signature: string;
}
