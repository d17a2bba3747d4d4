/**
 * The control plane's access-control plan as plain data: which etcd users exist (one per certificate
 * CN), which roles they hold and what each role may touch. No passwords anywhere: users are created
 * with `--no-password` and authenticate only with a client certificate whose CN is the user name.
 */
import { timestampName } from "../desired-state/freshness";
import { leafNameProblem } from "../pki";
import { ControlPlaneConfigError } from "./errors";
import { checkId, keys, COMPUTERS_PREFIX, CRL_PREFIX, RELEASES_PREFIX, SITES_PREFIX } from "./keys";

export type PermissionType = "read" | "write" | "readwrite";

export interface Permission {
  readonly type: PermissionType;
  /** A key, or a prefix ending in "/" when `prefix` is true. */
  readonly key: string;
  readonly prefix: boolean;
}

export interface RolePlan {
  readonly name: string;
  readonly permissions: readonly Permission[];
}

export type UserKind = "root" | "operator" | "site" | "timestamp" | "computer";

export interface UserPlan {
  /** The etcd user name, which is the CN of the client certificate that authenticates as it. */
  readonly name: string;
  readonly kind: UserKind;
  readonly roles: readonly string[];
}

export interface AccessPlan {
  readonly users: readonly UserPlan[];
  readonly roles: readonly RolePlan[];
}

export interface AccessPlanInput {
  /** Data center ids, e.g. ["dc1", "dc2", "dc3"]. */
  readonly dataCenters: readonly string[];
  /** Every computer (server id = CN of its computer certificate) and its data center. */
  readonly computers: readonly { readonly id: string; readonly dc: string }[];
  /** CNs of the operators' user certificates. @default - none (add them before operators need to write) */
  readonly operators?: readonly string[];
  /**
   * The platform's DNS domain: with it, each data center's timestamp service gets its etcd user
   * `timestamp.<dc>.<domain>` (its certificate's CN). @default - no timestamp users
   */
  readonly domain?: string;
}

export const ROOT_USER = "root";
/**
 * CN of every member's certificate. etcd accepts a peer only with this CN (--peer-cert-allowed-cn):
 * otherwise any clientAuth certificate of the hierarchy (a computer's) could talk raft to the members.
 * No etcd user has this name, so a member certificate gets nothing on the client port.
 */
export const MEMBER_CN = "etcd-peer";
export const OPERATOR_ROLE = "operator";
export const computerRole = (id: string): string => `computer-${id}`;
export const siteUser = (dc: string): string => `site-${dc}`;
export const siteRole = (dc: string): string => `site-${dc}`;
export const timestampUser = (dc: string, domain: string): string => timestampName(`${dc}.${domain}`);
export const timestampRole = (dc: string): string => `timestamp-${dc}`;

const CN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** Builds the plan; throws one ControlPlaneConfigError listing every problem of the input. */
export function buildAccessPlan(input: AccessPlanInput): AccessPlan {
  const errs: string[] = [];
  const tryId = (v: string, at: string): boolean => {
    try {
      checkId(v, at);
      return true;
    } catch (e) {
      errs.push((e as Error).message);
      return false;
    }
  };
  const dcs = new Set<string>();
  input.dataCenters.forEach((dc, i) => {
    if (tryId(dc, `dataCenters[${i}]`) && dcs.has(dc))
      errs.push(`dataCenters[${i}]: "${dc}" is listed twice`);
    dcs.add(dc);
  });
  const names = new Map<string, string>([
    [ROOT_USER, "the bootstrap root user"],
    [MEMBER_CN, "the CN of the etcd members' peer certificates"],
  ]);
  const claim = (name: string, what: string, at: string): void => {
    const prior = names.get(name);
    if (prior)
      errs.push(
        `${at}: user name "${name}" is already ${prior}; every certificate CN must name one identity`,
      );
    names.set(name, what);
  };
  input.dataCenters.forEach((dc, i) => claim(siteUser(dc), `the site service of ${dc}`, `dataCenters[${i}]`));
  const domain = input.domain;
  if (domain !== undefined && !/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domain))
    errs.push(`domain: ${JSON.stringify(domain)} is not a lower-case DNS domain such as zeroroot.example`);
  else if (domain !== undefined)
    input.dataCenters.forEach((dc, i) =>
      claim(timestampUser(dc, domain), `the timestamp service of ${dc}`, `dataCenters[${i}]`),
    );
  input.computers.forEach((c, i) => {
    const at = `computers[${i}]`;
    if (tryId(c.id, `${at}.id`)) claim(c.id, `computer ${c.id}`, `${at}.id`);
    if (!dcs.has(c.dc))
      errs.push(`${at}.dc: "${c.dc}" is not one of dataCenters (${[...dcs].join(", ") || "none"})`);
    // etcd knows a computer by CN only: names carry their data center, as issuance enforces.
    else if (leafNameProblem("computer", c.id, c.dc))
      errs.push(`${at}.id: ${leafNameProblem("computer", c.id, c.dc)}`);
  });
  (input.operators ?? []).forEach((op, i) => {
    const at = `operators[${i}]`;
    if (!CN.test(op))
      errs.push(`${at}: ${JSON.stringify(op)} is not a usable CN; allowed: 1-128 of [A-Za-z0-9._@-]`);
    else claim(op, `operator ${op}`, at);
  });
  if (errs.length)
    throw new ControlPlaneConfigError(`control-plane access plan is invalid:\n  - ${errs.join("\n  - ")}`);

  const roles: RolePlan[] = [
    { name: ROOT_USER, permissions: [] },
    {
      name: OPERATOR_ROLE,
      permissions: [
        { type: "readwrite", key: COMPUTERS_PREFIX, prefix: true },
        { type: "readwrite", key: CRL_PREFIX, prefix: true },
        { type: "readwrite", key: RELEASES_PREFIX, prefix: true },
        { type: "read", key: SITES_PREFIX, prefix: true },
      ],
    },
  ];
  const users: UserPlan[] = [{ name: ROOT_USER, kind: "root", roles: [ROOT_USER] }];
  for (const dc of input.dataCenters) {
    const own = input.computers.filter((c) => c.dc === dc);
    roles.push({
      name: siteRole(dc),
      permissions: [
        { type: "readwrite", key: keys.site(dc), prefix: true },
        { type: "readwrite", key: keys.crl(dc), prefix: false },
        ...own.map((c) => ({ type: "read" as const, key: keys.computer(c.id), prefix: true })),
      ],
    });
    users.push({ name: siteUser(dc), kind: "site", roles: [siteRole(dc)] });
    if (input.domain === undefined) continue;
    // The data center's timestamp service (agents/site/timestamp.ts): reads its computers' documents,
    // writes their freshness statements, nothing else. Its CN lies in the zone only dc's CA may issue.
    roles.push({
      name: timestampRole(dc),
      permissions: own.flatMap((c) => [
        { type: "read" as const, key: keys.desired(c.id), prefix: false },
        { type: "write" as const, key: keys.freshness(c.id), prefix: false },
      ]),
    });
    users.push({ name: timestampUser(dc, input.domain), kind: "timestamp", roles: [timestampRole(dc)] });
  }
  for (const c of input.computers) {
    roles.push({
      name: computerRole(c.id),
      permissions: [
        // read only: an agent (or an intruder on the node) must not be able to rewrite its own orders
        { type: "read", key: keys.desired(c.id), prefix: false },
        { type: "read", key: keys.freshness(c.id), prefix: false },
        // signed operator requests (restart, renew): read only, verified by the agent before acting
        { type: "read", key: keys.requests(c.id), prefix: true },
        { type: "readwrite", key: keys.report(c.id), prefix: true },
        // releases are signed and hold no secret; the agent verifies each one it runs
        { type: "read", key: RELEASES_PREFIX, prefix: true },
      ],
    });
    users.push({ name: c.id, kind: "computer", roles: [computerRole(c.id)] });
  }
  for (const op of input.operators ?? []) users.push({ name: op, kind: "operator", roles: [OPERATOR_ROLE] });
  return { users, roles };
}

/** True when `perm` covers `key` for `access` (the same rule etcd applies). */
export function permits(perm: Permission, key: string, access: "read" | "write"): boolean {
  const typeOk = perm.type === "readwrite" || perm.type === access;
  return typeOk && (perm.prefix ? key.startsWith(perm.key) : key === perm.key);
}

/** What `user` may do on `key` under the plan; root may do everything. */
export function allowed(plan: AccessPlan, user: string, key: string, access: "read" | "write"): boolean {
  const u = plan.users.find((x) => x.name === user);
  if (!u) return false;
  if (u.roles.includes(ROOT_USER)) return true;
  return u.roles.some((r) =>
    (plan.roles.find((x) => x.name === r)?.permissions ?? []).some((p) => permits(p, key, access)),
  );
}

/** The plan as etcdctl arguments, for review or a manual bootstrap (`zeroroot controlplane plan`). */
export function planCommands(plan: AccessPlan): string[][] {
  const out: string[][] = [];
  for (const r of plan.roles) {
    out.push(["role", "add", r.name]);
    for (const p of r.permissions) out.push(grantArgs(r.name, p));
  }
  for (const u of plan.users) {
    out.push(["user", "add", u.name, "--no-password"]);
    for (const r of u.roles) out.push(["user", "grant-role", u.name, r]);
  }
  out.push(["auth", "enable"]);
  return out;
}

export function grantArgs(role: string, p: Permission): string[] {
  return ["role", "grant-permission", role, ...(p.prefix ? ["--prefix=true"] : []), p.type, p.key];
}
