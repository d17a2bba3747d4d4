/**
 * lib/controlplane: the key layout of the control-plane store (etcd), its access-control plan (one
 * user and role per certificate CN, no passwords), the applier that brings a cluster to the plan, and
 * the mutual-TLS client used by agents, site services and operators. No Pulumi. See docs/controlplane.md.
 */
export {
  keys,
  checkId,
  prefixEnd,
  COMPUTERS_PREFIX,
  SITES_PREFIX,
  CRL_PREFIX,
  RELEASES_PREFIX,
} from "./keys";
export {
  buildAccessPlan,
  allowed,
  permits,
  planCommands,
  grantArgs,
  computerRole,
  siteRole,
  siteUser,
  timestampUser,
  timestampRole,
  ROOT_USER,
  MEMBER_CN,
  OPERATOR_ROLE,
  type AccessPlan,
  type AccessPlanInput,
  type Permission,
  type PermissionType,
  type RolePlan,
  type UserPlan,
  type UserKind,
} from "./plan";
export {
  applyAccessPlan,
  etcdctlRunner,
  type EtcdctlRunner,
  type EtcdctlOptions,
  type ApplyResult,
  type ApplyChange,
} from "./apply";
export {
  ControlPlaneClient,
  ComputerChannel,
  classify,
  checkEndpoints,
  type ClientIdentity,
  type ControlPlaneClientOptions,
  type KeyValueClient,
  type WatchHandlers,
  type WatchHandle,
  type Entry,
} from "./client";
export {
  ControlPlaneError,
  PermissionDeniedError,
  UnreachableError,
  ControlPlaneConfigError,
  ApplyError,
  type ControlPlaneFailure,
} from "./errors";
