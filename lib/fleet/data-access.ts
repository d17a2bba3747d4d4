/**
 * Who may use which data set of which datastore: `zeroroot:dataAccess` in a data-center stack.
 * Grants name verified identities (`dc1/user/alice`, the triple of lib/pki/identity.ts), never a CN
 * alone, so a user certificate of another data center with the same name gets nothing.
 *
 * Shape (read by the datastore releases, which render users and grants from it, and by
 * `zeroroot client kit`, which writes connection strings for the data sets a user may use):
 *
 * ```yaml
 * zeroroot:dataAccess:
 *   - service: postgresql        # a service of zeroroot:services in this stack whose release is a
 *                                # datastore (release name postgresql*, mariadb* or galera*)
 *     database: analytics        # the data set: a PostgreSQL database / a MariaDB schema
 *     grants:
 *       - user: dc1/user/alice   # identity of a user certificate: issuing data center/user/name
 *         access: readwrite      # read | readwrite
 *       - { user: dc2/user/bob, access: read }
 * ```
 *
 * The database user (PostgreSQL role, MariaDB user) is the identity's name; a name is granted to one
 * identity per service, so `dc1/user/alice` and `dc2/user/alice` cannot share a datastore
 * (`checkDatastoreIdentities`, lib/fleet/datastore-parameters.ts).
 *
 * TypeScript: `DataAccessConfig` (= `DataAccessEntry[]`), `datastoreEngineOf(releaseName)`,
 * `grantsOf(entries, identity)`. The schema checks shape; `checkDataAccess` what needs the services.
 */
import { z } from "zod";
import { formatIdentity, parseIdentity, type Identity } from "../pki/identity";
import { datastoreEngineOf } from "./datastore-engines";
import { ConfigIssue, joinPath } from "./issues";
import { parseReleaseRef, SERVICES_KEY, type ServiceConfig } from "./services";
import type { PathSegment, RawStackConfig } from "./validate";

export const DATA_ACCESS_KEY = "zeroroot:dataAccess";

export {
  DATASTORE_ENGINES,
  datastoreEngineOf,
  datastoreEngineOfPackages,
  type DatastoreEngine,
} from "./datastore-engines";

export const DATA_ACCESS_LEVELS = ["read", "readwrite"] as const;
export type DataAccessLevel = (typeof DATA_ACCESS_LEVELS)[number];

/** A PostgreSQL database / MariaDB schema name that needs no quoting in either engine. */
const databaseName = z
  .string({ error: "a database name: lower-case letters, digits and _, starting with a letter" })
  .regex(/^[a-z][a-z0-9_]{0,62}$/, {
    error: "a database name: lower-case letters, digits and _, starting with a letter, at most 63 characters",
  });

const userIdentity = z
  .string({ error: 'a user identity "<data center>/user/<name>"' })
  .superRefine((s, ctx) => {
    const id = parseIdentity(s);
    if (typeof id === "string") ctx.addIssue({ code: "custom", message: id });
    else if (id.kind !== "user")
      ctx.addIssue({
        code: "custom",
        message: `a user identity "<data center>/user/<name>" (datastores grant users, not ${id.kind} certificates)`,
      });
  });

export const grantSchema = z.strictObject({
  user: userIdentity,
  access: z.enum(DATA_ACCESS_LEVELS, { error: `one of ${DATA_ACCESS_LEVELS.join(", ")}` }),
});

export const dataAccessEntrySchema = z.strictObject({
  service: z.string({ error: "the name of a datastore service of zeroroot:services" }),
  database: databaseName,
  grants: z.array(grantSchema, { error: "a list of grants ({user, access})" }),
});

export const dataAccessSchema = z.array(dataAccessEntrySchema, {
  error: "a list of data sets ({service, database, grants})",
});

export type GrantConfig = z.output<typeof grantSchema>;
export type DataAccessEntry = z.output<typeof dataAccessEntrySchema>;
export type DataAccessConfig = readonly DataAccessEntry[];

/**
 * Cross-field checks: the service exists in this stack and runs a datastore release, each
 * (service, database) is listed once, and a user is granted once per data set. Returns every issue.
 */
export function checkDataAccess(
  entries: DataAccessConfig,
  services: readonly ServiceConfig[],
  raw: RawStackConfig,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const report = (path: readonly PathSegment[], received: string, allowed: string, fix: string) =>
    issues.push({ path: joinPath(path), received, allowed, fix, ...raw.locate?.(path) });
  const datastores = services.filter((s) => datastoreEngineOf(parseReleaseRef(s.release).name));
  const seen = new Map<string, number>();
  entries.forEach((e, i) => {
    const at = (...rest: PathSegment[]) => [DATA_ACCESS_KEY, i, ...rest];
    const service = services.find((s) => s.name === e.service);
    if (!service)
      report(
        at("service"),
        JSON.stringify(e.service),
        `a datastore service of ${SERVICES_KEY} (${datastores.map((s) => s.name).join(", ") || "none in this stack"})`,
        `correct the name or add the service to ${SERVICES_KEY}`,
      );
    else if (!datastoreEngineOf(parseReleaseRef(service.release).name))
      report(
        at("service"),
        `${JSON.stringify(e.service)}, whose release ${service.release} is not a datastore`,
        "a service whose release is postgresql*, mariadb* or galera*",
        "grant access on a datastore service only",
      );
    const key = `${e.service}/${e.database}`;
    const first = seen.get(key);
    if (first !== undefined)
      report(
        at("database"),
        JSON.stringify(e.database),
        "each database of a service listed once",
        `merge its grants into ${joinPath([DATA_ACCESS_KEY, first])}`,
      );
    else seen.set(key, i);
    const users = new Map<string, number>();
    e.grants.forEach((g, j) => {
      const prior = users.get(g.user);
      if (prior !== undefined)
        report(
          at("grants", j, "user"),
          JSON.stringify(g.user),
          "a user granted once per database",
          `keep one grant (the first is ${joinPath(at("grants", prior))})`,
        );
      else users.set(g.user, j);
    });
  });
  return issues;
}

/** The data sets `identity` may use, with its access level: what a client kit connects to. */
export function grantsOf(
  entries: DataAccessConfig,
  identity: Identity,
): { service: string; database: string; access: DataAccessLevel }[] {
  const text = formatIdentity(identity);
  return entries.flatMap((e) =>
    e.grants
      .filter((g) => g.user === text)
      .map((g) => ({ service: e.service, database: e.database, access: g.access })),
  );
}
