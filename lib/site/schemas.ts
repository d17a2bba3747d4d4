/**
 * The shapes of the site services' request bodies, in zod: what a handler may rely on once a body
 * has passed. Every string and list is bounded, so that nothing a caller sends costs more than its
 * route's body limit; unknown fields are refused rather than ignored, so a typo is seen.
 */
import { z } from "zod";
import { macProblem as cardMacProblem } from "../fleet/address-checks";
import { MAX_CRLS } from "../pki/errors";
import { HOSTNAME_PATTERN, MAX_HOSTNAME_LENGTH } from "./origin";

/** The one form of a MAC the site stores and compares: lower case, colon-separated. */
export const MAC_FORMAT = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * Why `mac` cannot be a server's PXE MAC, or undefined. Upper case is accepted (and lowered by
 * normaliseMac); which addresses no card has is the fleet's rule, defined once in lib/fleet.
 */
export function macProblem(mac: string): string | undefined {
  const m = mac.toLowerCase();
  if (!MAC_FORMAT.test(m))
    return "not a MAC address; allowed: six colon-separated hex octets such as 52:54:00:01:01:11";
  return cardMacProblem(m);
}

export const normaliseMac = (mac: string): string => mac.toLowerCase();

const mac = z
  .string()
  .max(17)
  .superRefine((v, ctx) => {
    const problem = macProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .transform(normaliseMac);

/** A PEM CSR: ECDSA or RSA up to 4096 bits fits in 8 KiB with room to spare. */
const csrPem = z.string().min(1).max(8192, { error: "a PEM CSR of at most 8192 characters" });

/** A fully qualified, lower-case host name (lib/site/origin.ts), at most 253 characters. */
export const hostnameSchema = z.string().max(MAX_HOSTNAME_LENGTH).regex(HOSTNAME_PATTERN, {
  error: "a fully qualified, lower-case host name such as s01.dc1.example.com",
});

export const armRequestSchema = z.strictObject({
  /** Checked against the data center's computer naming by the handler (it knows the data center). */
  serverId: z.string().min(1).max(64),
  hostname: hostnameSchema,
  mac,
});

export const enrollRequestSchema = z.strictObject({ mac, csrPem });

export const readyReportSchema = z.strictObject({
  agentUser: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "a POSIX user name of at most 32 characters" }),
  agentUid: z.int().min(0).max(4_294_967_294),
  listeningTcpPorts: z.array(z.int().min(1).max(65_535)).max(4096),
  bootId: z
    .string()
    .regex(/^[0-9a-zA-Z-]{1,64}$/, { error: "a boot id: up to 64 letters, digits and hyphens" }),
});

export const serviceCsrRequestSchema = z.strictObject({
  instance: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
    error: "a DNS label: 1-63 of a-z 0-9 -, not starting or ending with -",
  }),
  csrPem,
});

/** Largest `GET /crls` answer a node reads: a site holds at most 64 CRL files and its own CRL. */
export const MAX_CRL_BUNDLE_BYTES = 16 * 1024 * 1024;

/** The `GET /crls` answer, as the node reads it: what each CRL holds is screened later (lib/agent/crl-screen). */
export const crlBundleSchema = z.strictObject({
  crls: z
    .array(z.string().max(MAX_CRL_BUNDLE_BYTES))
    .max(MAX_CRLS + 1, { error: `at most ${MAX_CRLS + 1} CRLs` }),
});

/** An enrollment token as the site makes them: 32 random bytes, base64url. */
export const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/** The zod issues of a refused body as one line: `mac: not a MAC address; ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join(".") : "body"}: ${i.message}`)
    .join("; ");
}
