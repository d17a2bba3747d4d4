/**
 * Services of a data center (`zeroroot:services` in a data-center stack): which signed release runs
 * where, with which endpoints, parameters and persistence. The schema checks shape; `checkServices`
 * checks what needs the inventory (placement, ports per server). Neither refuses a service that runs
 * as root or carries a password-like parameter: the policy pack's zero-root and zero-password rules
 * judge those (and the node agent refuses root again), so one rule book decides.
 */
import { z } from "zod";
import { ConfigIssue, joinPath } from "./issues";
import { SERVER_ROLES, type ServerConfig } from "./schema";
import type { PathSegment, RawStackConfig } from "./validate";

export const SERVICES_KEY = "zeroroot:services";

/** First uid of the partition users: `zr-p<NNN>` has uid PARTITION_UID_BASE + NNN. */
export const PARTITION_UID_BASE = 2100;
/** Partition slots per computer (NNN is 000-999). */
export const PARTITION_SLOTS = 1000;

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** "30d", "12h", "1d12h", "90m", "45s" → seconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m || text === "") return undefined;
  const [d, h, min, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const total = d * 86_400 + h * 3_600 + min * 60 + s;
  return Number.isSafeInteger(total) ? total : undefined;
}

const serviceName = z
  .string({ error: "a service name: lower-case letters, digits and hyphens, starting with a letter" })
  .regex(/^[a-z][a-z0-9-]{0,62}$/, {
    error:
      "a service name: lower-case letters, digits and hyphens, starting with a letter, at most 63 characters",
  });

const releaseRef = z
  .string({ error: "a release reference name@version, e.g. postgresql@15.8.0" })
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}@\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/, {
    error:
      "a release reference name@version, e.g. postgresql@15.8.0 (a file releases/<name>-<version>.signed.json)",
  });

const duration = z
  .string({ error: 'a duration such as "30d", "12h" or "1d12h"' })
  .refine((s) => parseDuration(s) !== undefined, { error: 'a duration such as "30d", "12h" or "1d12h"' });

const port = z
  .number({ error: "a TCP/UDP port from 1024 to 65535 (services run unprivileged)" })
  .int({ error: "a whole port number" })
  .min(1024, { error: "a port from 1024 to 65535 (services run unprivileged)" })
  .max(65535, { error: "a port from 1024 to 65535" });

export const endpointSchema = z.strictObject({
  port,
  protocol: z.enum(["tcp", "udp"], { error: "tcp or udp" }).default("tcp"),
  /** @default true; false is allowed here so that the mutual-tls policy, not the schema, judges it. */
  tls: z.boolean({ error: "true or false" }).default(true),
  requireClientCertificate: z.boolean({ error: "true or false" }).default(true),
});

export const placementSchema = z.union(
  [
    z.strictObject({
      servers: z
        .array(z.string({ error: "a server id of this data center" }), { error: "a list of server ids" })
        .min(1, { error: "at least one server id" }),
    }),
    z.strictObject({ role: z.enum(SERVER_ROLES, { error: `one of ${SERVER_ROLES.join(", ")}` }) }),
  ],
  { error: `either {servers: [ids]} or {role: ${SERVER_ROLES.join("|")}}` },
);

export const serviceSchema = z
  .strictObject({
    name: serviceName,
    release: releaseRef,
    placement: placementSchema,
    holdsData: z.boolean({ error: "true or false: whether instances keep data" }),
    /** Required when holdsData; the node agent refuses to destroy the instance before it. */
    minimumPersistence: duration.optional(),
    /** @default - the release's declared ports */
    endpoints: z
      .array(endpointSchema, { error: "a list of endpoints ({port, tls, requireClientCertificate})" })
      .optional(),
    /** String values only; password-like keys are the zero-password policy's to refuse. */
    parameters: z
      .record(z.string(), z.string({ error: "a string value (quote numbers)" }), {
        error: "a mapping of parameter names to string values",
      })
      .default({}),
    /**
     * Overrides the per-instance partition user. Never refused here (not even root): the zero-root
     * policy catches it at preview, and signing and the node agent refuse it at deploy.
     * @default - the computer's partition user zr-p<NNN>, uid 2100+NNN
     */
    runAs: z
      .strictObject({
        user: z.string({ error: "a user name" }).regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "a user name" }),
        uid: z.number({ error: "a uid" }).int({ error: "a whole uid" }).min(0, { error: "a uid >= 0" }),
      })
      .optional(),
  })
  .superRefine((s, ctx) => {
    if (s.holdsData && s.minimumPersistence === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["minimumPersistence"],
        message: 'a duration such as "30d": a data-holding service needs a minimum persistence time',
      });
  });

export const servicesSchema = z.array(serviceSchema, { error: "a list of services" });

export type EndpointConfig = z.output<typeof endpointSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;

/** Splits `name@version`. */
export function parseReleaseRef(ref: string): { name: string; version: string } {
  const at = ref.indexOf("@");
  return { name: ref.slice(0, at), version: ref.slice(at + 1) };
}

/** Ids of the servers a service runs on, in inventory order. */
export function placementOf(service: ServiceConfig, servers: readonly ServerConfig[]): string[] {
  const p = service.placement;
  if ("role" in p) return servers.filter((s) => s.roles.includes(p.role)).map((s) => s.id);
  return servers.filter((s) => p.servers.includes(s.id)).map((s) => s.id);
}

/**
 * Cross-field checks of services against the inventory: unique names, placement naming servers that
 * exist, a role some server has, and no port used twice on one server. Returns every issue.
 */
export function checkServices(
  services: readonly ServiceConfig[],
  servers: readonly (ServerConfig | undefined)[],
  raw: RawStackConfig,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const report = (path: readonly PathSegment[], received: string, allowed: string, fix: string) =>
    issues.push({ path: joinPath(path), received, allowed, fix, ...raw.locate?.(path) });
  const known = servers.filter((s): s is ServerConfig => s !== undefined);
  const ids = known.map((s) => s.id);
  const names = new Map<string, number>();
  const ports = new Map<string, string>(); // `${server}/${protocol}/${port}` → first path
  services.forEach((s, i) => {
    const at = (...rest: PathSegment[]) => [SERVICES_KEY, i, ...rest];
    const first = names.get(s.name);
    if (first !== undefined)
      report(
        at("name"),
        JSON.stringify(s.name),
        "a service name used once in the data center",
        `rename it (the first is ${joinPath([SERVICES_KEY, first, "name"])})`,
      );
    else names.set(s.name, i);
    const p = s.placement;
    if ("servers" in p) {
      p.servers.forEach((id, j) => {
        if (!ids.includes(id))
          report(
            at("placement", "servers", j),
            JSON.stringify(id),
            `a server id of this data center (${ids.join(", ")})`,
            "correct the id or add the server to zeroroot:dataCenter.servers",
          );
      });
    } else if (known.length === servers.length && !known.some((srv) => srv.roles.includes(p.role))) {
      report(
        at("placement", "role"),
        JSON.stringify(p.role),
        `a role at least one server has (${[...new Set(known.flatMap((srv) => srv.roles))].join(", ")})`,
        "give the role to a server, or place the service by server ids",
      );
    }
    (s.endpoints ?? []).forEach((e, j) => {
      const clashes: string[] = [];
      for (const id of placementOf(s, known)) {
        const key = `${id}/${e.protocol}/${e.port}`;
        const prior = ports.get(key);
        if (prior) clashes.push(`${id} (also ${prior})`);
        else ports.set(key, joinPath(at("endpoints", j, "port")));
      }
      if (clashes.length > 0)
        report(
          at("endpoints", j, "port"),
          `${e.port}/${e.protocol}, already used on ${clashes.join(", ")}`,
          "a port used by one instance per server",
          "give the service another port",
        );
    });
  });
  return issues;
}
