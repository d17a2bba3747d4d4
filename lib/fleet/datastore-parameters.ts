/**
 * What a datastore instance learns from `zeroroot:dataAccess`: the instance parameter `access`, one
 * line per grant, `<database> <dc>/user/<name> read|readwrite`, which the datastore release renders
 * into roles, grants and its certificate-to-role map (lab/releases/postgresql). Pure.
 *
 * PostgreSQL maps a client certificate to a role by its CN only (pg_ident), and a CN is a name
 * without its data center: dc1/user/alice and dc2/user/alice would be the same role. So
 * `checkDatastoreIdentities` refuses, per service, two identities that share a name.
 */
import { datastoreEngineOf, DATA_ACCESS_KEY, type DataAccessConfig } from "./data-access";
import { ConfigIssue, joinPath } from "./issues";
import { parseReleaseRef, type ServiceConfig } from "./services";
import type { RawStackConfig } from "./validate";

/** The parameter name the datastore releases read (config template `etc/access.txt`). */
export const ACCESS_PARAMETER = "access";

/** The parameter listing where job certificates are accepted (lib/compute/job-access.ts renders it). */
export const JOB_ACCESS_PARAMETER = "jobAccess";

/**
 * Parameters added to the instances of `service`: {} for a service that is not a datastore.
 * `jobAccess`: the service's job lines (lib/compute/job-access.ts `jobAccessParameter`), "" for none.
 */
export function datastoreParameters(
  service: ServiceConfig,
  dataAccess: DataAccessConfig,
  jobAccess = "",
): Record<string, string> {
  if (!datastoreEngineOf(parseReleaseRef(service.release).name)) return {};
  const lines = dataAccess
    .filter((e) => e.service === service.name)
    .flatMap((e) => e.grants.map((g) => `${e.database} ${g.user} ${g.access}`));
  return { [ACCESS_PARAMETER]: lines.join("\n"), [JOB_ACCESS_PARAMETER]: jobAccess };
}

/** Two identities of one service with the same name (the CN a certificate-to-role map sees). */
export function checkDatastoreIdentities(dataAccess: DataAccessConfig, raw: RawStackConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const byName = new Map<string, { user: string; path: (string | number)[] }>();
  dataAccess.forEach((e, i) =>
    e.grants.forEach((g, j) => {
      const name = g.user.slice(g.user.lastIndexOf("/") + 1);
      const path = [DATA_ACCESS_KEY, i, "grants", j, "user"];
      const first = byName.get(`${e.service}\0${name}`);
      if (first && first.user !== g.user)
        issues.push({
          path: joinPath(path),
          received: JSON.stringify(g.user),
          allowed: `one identity per user name on service ${e.service} (${first.user} has the name ${name})`,
          fix: `datastores map a certificate to a role by its name alone; rename one of the users (${joinPath(first.path)})`,
          ...raw.locate?.(path),
        });
      else if (!first) byName.set(`${e.service}\0${name}`, { user: g.user, path });
    }),
  );
  return issues;
}
