/** The rule book (DESIGN.md invariant 8): one list, used by the policy pack and drift detection. */
import { bmc } from "./rules/bmc";
import { certificate } from "./rules/certificate";
import { datastoreClientCertificates } from "./rules/datastore-client-certificates";
import { encryptionAtRest } from "./rules/encryption-at-rest";
import { mariadbCertificateUsers } from "./rules/mariadb-certificate-users";
import { pgHbaCertOnly } from "./rules/pg-hba-cert-only";
import { mutualTls } from "./rules/mutual-tls";
import { noSsh } from "./rules/no-ssh";
import { perUserEgress } from "./rules/per-user-egress";
import { persistence } from "./rules/persistence";
import { signedSoftware } from "./rules/signed-software";
import { spread } from "./rules/spread";
import { zeroPassword } from "./rules/zero-password";
import { zeroRoot } from "./rules/zero-root";
import type { Rule } from "./types";

export * from "./types";
export * from "./views";
export * from "./datastore-views";
export { datastoreClientCertificates, encryptionAtRest, mariadbCertificateUsers, pgHbaCertOnly };
export { bmc, certificate, mutualTls, noSsh, persistence, signedSoftware, spread, zeroPassword, zeroRoot };
export type { BmcConfig } from "./rules/bmc";
export type { CertificateConfig } from "./rules/certificate";
export type { DatastoreClientCertificatesConfig } from "./rules/datastore-client-certificates";
export type { EncryptionAtRestConfig } from "./rules/encryption-at-rest";
export type { MariadbCertificateUsersConfig } from "./rules/mariadb-certificate-users";
export type { PgHbaCertOnlyConfig } from "./rules/pg-hba-cert-only";
export type { MutualTlsConfig } from "./rules/mutual-tls";
export type { NoSshConfig } from "./rules/no-ssh";
export { perUserEgress };
export { perUserEgressViewOfDesiredState } from "./egress-views";
export type { PerUserEgressConfig, PerUserEgressView } from "./rules/per-user-egress";
export type { PersistenceConfig } from "./rules/persistence";
export type { AuthorisedSigner, SignedSoftwareConfig } from "./rules/signed-software";
export { certificateFingerprint } from "./rules/signed-software";
export type { SpreadConfig } from "./rules/spread";
export type { ZeroPasswordConfig } from "./rules/zero-password";
export type { ZeroRootConfig } from "./rules/zero-root";

/** Every rule, in report order. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const RULES: readonly Rule<any, any>[] = [
  zeroRoot,
  noSsh,
  zeroPassword,
  mutualTls,
  certificate,
  bmc,
  signedSoftware,
  persistence,
  spread,
  datastoreClientCertificates,
  pgHbaCertOnly,
  mariadbCertificateUsers,
  encryptionAtRest,
  perUserEgress,
];

/** Rules that judge a HostView (drift detection over live hosts runs these). */
export const HOST_RULES = [zeroRoot, noSsh, mutualTls] as const;

/**
 * Rules that judge a DatastoresView: the pack runs them over releases and desired states, drift over
 * a live host's datastores (`datastoresViewFromObserved`: its endpoints and rendered config files).
 */
export const DATASTORE_RULES = [
  datastoreClientCertificates,
  pgHbaCertOnly,
  mariadbCertificateUsers,
  encryptionAtRest,
] as const;

/**
 * Rules of per-user compute (issue #12): the pack runs them over each DesiredState, whose instances
 * carry their owner and egress (egress-views.ts, docs/compute.md).
 */
export const COMPUTE_RULES = [perUserEgress] as const;
