/**
 * Compliant baseline fixtures, one per resource kind (compliance-policies' model): each test changes
 * one property and expects one finding.
 */
import forge from "node-forge";
import { testRsaKeyPair } from "../../helpers/test-keys";
import {
  dynamicType,
  type BmcServerInputs,
  type CertificateInputs,
  type DesiredStateInputs,
  type HardenedImageInputs,
  type InstanceSpec,
  type ProgramSpec,
  type ResourceKind,
  type SoftwareReleaseInputs,
} from "../../../lib/contracts/resources";
import { UNKNOWN, type ResourceRecord } from "../../../lib/rules";

/** Deep mutable clone, so a test can break one field of a baseline. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const clone = <T>(v: T): any => structuredClone(v);

export const program = (name: string, uid: number): ProgramSpec => ({
  name,
  command: `/usr/bin/${name}`,
  user: `zr-${name}`,
  uid,
  capabilities: [],
  noNewPrivileges: true,
});

export const image: HardenedImageInputs = {
  dataCenter: "dc1",
  packages: ["supervisor", "python3", "ca-certificates", "nftables", "iproute2", "passwd"],
  rootLocked: true,
  remoteRootLogin: false,
  firewall: { inputPolicy: "drop", allowedTcpPorts: [2379, 3306, 8786], allowedUdpPorts: [] },
  users: [
    { name: "zr-agent", uid: 2000 },
    { name: "zr-mariadb-1", uid: 2001 },
  ],
  programs: [
    {
      ...program("supervisord", 2000),
      command: "/usr/bin/supervisord -n -c /home/zr-agent/supervisord.conf",
    },
    program("zr-agent", 2000),
  ],
  specHash: "sha256:7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069",
};

export const instance: InstanceSpec = {
  name: "mariadb-1",
  release: {
    name: "mariadb-galera",
    version: "10.11.6-1",
    manifestDigest: "sha256:3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7",
  },
  partition: { user: "zr-mariadb-1", uid: 2001 },
  programs: [program("mariadbd", 2001)],
  endpoints: [{ port: 3306, protocol: "tcp", tls: true, requireClientCertificate: true }],
  holdsData: true,
  minimumPersistenceSeconds: 30 * 86400,
  parameters: { datadir: "/srv/zr-mariadb-1/data", clusterName: "zr-galera" },
};

export const desiredState: DesiredStateInputs = {
  computerId: "dc1-s01",
  dataCenter: "dc1",
  instances: [instance],
  validitySeconds: 86400,
};

export const bmcServer: BmcServerInputs = {
  serverId: "dc1-s01",
  dataCenter: "dc1",
  hostname: "dc1-s01.dc1.zeroroot.test",
  macs: ["52:54:00:12:34:56"],
  bmc: {
    address: "10.77.1.101",
    port: 623,
    username: "zr-admin",
    password: "k3Qp!x9Zr7Lw2Vb8Nc4Md6",
    cipherSuite: 17,
    ipmiVersion: "2.0",
  },
  bootDevice: "disk",
  power: "on",
};

export const serviceCertificate: CertificateInputs = {
  kind: "service",
  subject: "CN=mariadb-1.dc1-s01",
  dnsNames: ["mariadb-1.dc1-s01.dc1.zeroroot.test"],
  ipAddresses: ["10.77.1.11"],
  keyType: "ec-p256",
  validityDays: 90,
  extendedKeyUsage: ["serverAuth", "clientAuth"],
  csrPem:
    "-----BEGIN CERTIFICATE REQUEST-----\nMIIBDzCBtgIBADBUMQswCQYDVQQGEwJGUjEQMA4GA1UECgwHemVyb3Jvb3QxMzAx\n-----END CERTIFICATE REQUEST-----\n",
};

/** A code-signing certificate (and a foreign one) made once per run. */
export interface Signers {
  readonly pem: string;
  readonly fingerprint: string;
  readonly foreignPem: string;
  readonly serverAuthPem: string;
  readonly expiredPem: string;
}

async function makeCert(cn: string, eku: "codeSigning" | "serverAuth", notAfter: Date): Promise<string> {
  // Test-only RSA keys (generating them is slow); certificate encoding by forge.
  const { privateKey, publicKey } = testRsaKeyPair(2048, cn);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: "spki", format: "pem" }) as string);
  cert.serialNumber = "01";
  cert.validity.notBefore = new Date(Date.now() - 86400_000 * 400);
  cert.validity.notAfter = notAfter;
  const attrs = [{ name: "commonName", value: cn }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([{ name: "extKeyUsage", [eku]: true }]);
  cert.sign(
    forge.pki.privateKeyFromPem(privateKey.export({ type: "pkcs1", format: "pem" }) as string),
    forge.md.sha256.create(),
  );
  return forge.pki.certificateToPem(cert);
}

let signers: Promise<Signers> | undefined;
export function makeSigners(): Promise<Signers> {
  signers ??= (async () => {
    const later = new Date(Date.now() + 86400_000 * 365);
    const pem = await makeCert("admin-alice", "codeSigning", later);
    const { certificateFingerprint } = await import("../../../lib/rules");
    return {
      pem,
      fingerprint: certificateFingerprint(pem),
      foreignPem: await makeCert("mallory", "codeSigning", later),
      serverAuthPem: await makeCert("web", "serverAuth", later),
      expiredPem: await makeCert("admin-old", "codeSigning", new Date(Date.now() - 86400_000)),
    };
  })();
  return signers;
}

export const releaseOf = (signerPem: string): SoftwareReleaseInputs => ({
  name: instance.release.name,
  version: instance.release.version,
  manifestDigest: instance.release.manifestDigest,
  signerCertificatePem: signerPem,
  signature:
    "MEUCIQDx1yZ5n3tq2rJ9gY7vQe0Hc5q2wz9ZtI1bq8Vf3m1CmwIgB4aN2yX7Q0pR8sT6uV3wK9jL1mN5oP2qR4sT7uV8w0=",
});

/** A ResourceRecord as the pack would build it (secretness known; protect as given). */
export function record(
  kind: ResourceKind,
  name: string,
  props: unknown,
  opts: { secretPaths?: string[]; protect?: boolean; secretsUnknown?: boolean } = {},
): ResourceRecord {
  return {
    kind,
    name,
    ref: `urn:pulumi:dc1::zeroroot::${dynamicType(kind)}::${name}`,
    props: props as Record<string, unknown>,
    secretPaths: opts.secretsUnknown ? UNKNOWN : new Set(opts.secretPaths ?? []),
    protect: opts.protect ?? true,
  };
}
