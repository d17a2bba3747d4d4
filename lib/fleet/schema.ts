/**
 * The shape of zeroroot's stack configuration, in zod. Messages here are the "allowed" half of
 * an error; `validate.ts` adds where, what was received and how to fix it. Semantic checks that
 * need more than one field (addresses inside networks, uniqueness) live in `checks.ts`.
 */
import { z } from "zod";
import { CIPHER_SUITES } from "../contracts/resources";
import { bmcCredentialsSchema } from "./bmc-credentials";

import { SERVER_ROLES, type ServerRole } from "../contracts/resources";
export { SERVER_ROLES, type ServerRole };

const name = (what: string) =>
  z
    .string({ error: `a ${what}: lower-case letters, digits and hyphens, starting with a letter` })
    .regex(/^[a-z][a-z0-9-]{0,62}$/, {
      error: `a ${what}: lower-case letters, digits and hyphens, starting with a letter, at most 63 characters`,
    });

const fqdn = z
  .string({ error: "a fully qualified host name such as s01.dc1.example.com" })
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
    error: "a fully qualified, lower-case host name such as s01.dc1.example.com",
  });

/** Network cards of one machine, and data networks of one data center: generous, but bounded. */
export const MAX_MACS = 16;
export const MAX_DATA_NETWORKS = 64;

const ip = z.union([z.ipv4(), z.ipv6()], { error: "an IPv4 or IPv6 address such as 10.78.1.11" });
const cidr = z.string({ error: "a network in CIDR notation such as 10.78.1.0/24" });

const mac = z
  .string({ error: "a MAC address such as 52:54:00:01:01:11" })
  .regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, {
    error: "a lower-case, colon-separated MAC address such as 52:54:00:01:01:11",
  });

/** A secret arrives as a string once Pulumi has decrypted it; whether it *was* secret is tracked apart. */
const secretString = z
  .string({ error: "a string given as a Pulumi secret (`pulumi config set --secret --path ...`)" })
  .min(1, {
    error: "a non-empty string given as a Pulumi secret",
  });

export const bmcSchema = z.strictObject({
  address: ip,
  port: z
    .number({ error: "a UDP port number from 1 to 65535" })
    .int({ error: "a whole UDP port number" })
    .min(1, { error: "a UDP port number from 1 to 65535" })
    .max(65535, { error: "a UDP port number from 1 to 65535" })
    .default(623),
  username: z.string({ error: "the BMC user name" }).min(1, { error: "a non-empty BMC user name" }),
  password: secretString,
  cipherSuite: z.number({ error: `an IPMI cipher suite, one of ${CIPHER_SUITES.join(", ")}` }).default(3),
});

export const serverSchema = z.strictObject({
  id: name("server id"),
  hostname: fqdn,
  roles: z
    .array(z.enum(SERVER_ROLES, { error: `a role, one of ${SERVER_ROLES.join(", ")}` }), {
      error: `a list of roles (${SERVER_ROLES.join(", ")})`,
    })
    .min(1, { error: `at least one role (${SERVER_ROLES.join(", ")})` }),
  address: ip,
  macs: z
    .array(mac, { error: "a list of the server's MAC addresses, PXE interface first" })
    .min(1, { error: "at least one MAC address" })
    .max(MAX_MACS, { error: `at most ${MAX_MACS} MAC addresses` }),
  bmc: bmcSchema,
  /**
   * Explicit decommission: this `pulumi up` lifts the server's protection, powers it off and places
   * no instance on it; removing the entry afterwards deletes it (docs/fleet.md, "Lifecycle").
   */
  decommission: z
    .boolean({ error: "true to power the server off and let a later removal delete it, or false" })
    .default(false),
});

/**
 * Keys zeroroot once accepted and now refuses as unknown, with why and what to do instead:
 * the unknown-key error shows this hint (validate.ts).
 */
export const REMOVED_KEYS: Readonly<Record<string, string>> = {
  bootDisk:
    "bootDisk was never used: the installer writes to the disk its netboot environment names ($ZR_DISK); delete the key",
};

export const managementServerSchema = z.strictObject({
  id: name("server id"),
  hostname: fqdn,
  managementAddress: ip,
  dataAddress: ip,
  macs: z
    .array(mac, { error: "a list of MAC addresses" })
    .min(1, { error: "at least one MAC address" })
    .max(MAX_MACS, { error: `at most ${MAX_MACS} MAC addresses` }),
});

export const dataCenterSchema = z.strictObject({
  name: name("data center name"),
  location: z
    .string({ error: 'a free-text location, e.g. "Lille, FR"' })
    .max(200, { error: "a location of at most 200 characters" })
    .optional(),
  managementNetwork: cidr,
  dataNetworks: z
    .array(z.strictObject({ name: name("network name"), cidr }), {
      error: "a list of data networks ({name, cidr})",
    })
    .min(1, { error: "at least one data network" })
    .max(MAX_DATA_NETWORKS, { error: `at most ${MAX_DATA_NETWORKS} data networks` }),
  managementServer: managementServerSchema,
  /** TCP port of the site services on the management server. */
  sitePort: z
    .number({ error: "a TCP port number" })
    .int()
    .min(1024, { error: "an unprivileged TCP port (1024-65535): the site services never run as root" })
    .max(65535)
    .default(8443),
  /** Partitions (zr-p000…) pre-created in the image the servers run: instance users come from these. */
  partitionsPerServer: z
    .number({ error: "a whole number of partitions from 1 to 1000" })
    .int({ error: "a whole number of partitions from 1 to 1000" })
    .min(1, { error: "a whole number of partitions from 1 to 1000" })
    .max(1000, { error: "a whole number of partitions from 1 to 1000" })
    .default(100),
  servers: z.array(serverSchema, { error: "a list of servers" }).min(1, { error: "at least one server" }),
  /** BMC credentials nobody knows: rotation of each server's managed BMC password (docs/bmc.md). */
  bmcCredentials: bmcCredentialsSchema,
  /**
   * The hardened image archive the site serves installers: its SHA-256 and the site's image
   * directory. With it the HardenedImage resource checks the archive is there and unaltered.
   */
  image: z
    .strictObject({
      sha256: z
        .string({ error: "the image archive's SHA-256, 64 lower-case hex digits" })
        .regex(/^[0-9a-f]{64}$/, { error: "the image archive's SHA-256, 64 lower-case hex digits" }),
      dir: z
        .string({ error: "the site's image directory, an absolute path" })
        .regex(/^\/[^\0]{0,4095}$/, { error: "the site's image directory, an absolute path" }),
    })
    .optional(),
});

const pem = z
  .string({ error: "a PEM certificate (-----BEGIN CERTIFICATE----- ...)" })
  .regex(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, {
    error: "a single PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)",
  });

/** Where the root CA lives: offline (only its certificate here) or held by this stack as a secret. */
export const rootCaSchema = z.discriminatedUnion(
  "mode",
  [
    z.strictObject({ mode: z.literal("offline"), certificate: pem }),
    z.strictObject({ mode: z.literal("managed"), commonName: z.string().min(1).optional() }),
  ],
  {
    error:
      "either {mode: offline, certificate: <PEM>} (root kept offline by `zeroroot pki init`) or {mode: managed}",
  },
);

export const globalSchema = z.strictObject({
  rootCa: rootCaSchema.default({ mode: "managed" }),
  dataCenters: z.array(name("data center name"), { error: "the list of data center names" }).min(3, {
    error: "at least three data centers (storage keeps quorum with two of three)",
  }),
  controlPlane: z
    .strictObject({
      clientPort: z.number().int().min(1).max(65535).default(2379),
      peerPort: z.number().int().min(1).max(65535).default(2380),
    })
    .default({ clientPort: 2379, peerPort: 2380 }),
});

export const domainSchema = fqdn;

export type BmcConfig = z.output<typeof bmcSchema>;
export type ServerConfig = z.output<typeof serverSchema>;
export type ManagementServerConfig = z.output<typeof managementServerSchema>;
export type DataCenterConfig = z.output<typeof dataCenterSchema>;
export type GlobalConfig = z.output<typeof globalSchema>;
