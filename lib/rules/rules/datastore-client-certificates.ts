import { UNKNOWN, finding, show, type Finding, type Rule } from "../types";
import { knownDatastores, type DatastoresView } from "../datastore-views";

/** No configuration: unlike mutual-tls (whose exemptPorts may cover odd service ports), a datastore is never exempt. */
export type DatastoreClientCertificatesConfig = Record<string, never>;

const meta = {
  name: "datastore-client-certificates",
  description:
    "Checks that every endpoint of a datastore (PostgreSQL, MariaDB) speaks TLS and requires a client certificate from the platform's hierarchy, with no exemption: users and replicas authenticate by certificate, never by password.",
  severity: "critical",
  remediation:
    "Set tls: true and requireClientCertificate: true on the datastore's endpoint (service endpoints and the release's ports), and configure the engine to demand client certificates (PostgreSQL hostssl ... cert; MariaDB require_secure_transport and REQUIRE SUBJECT/ISSUER).",
  invariant: "4. Mutual TLS everywhere",
  defaults: {},
  configSchema: {},
} as const;

export const datastoreClientCertificates: Rule<DatastoresView, DatastoreClientCertificatesConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(view) {
    const out: Finding[] = [];
    // A live host may not know whether a socket is TLS; a declared endpoint must say so.
    const missingIsFalse = view.source !== "Host";
    for (const d of knownDatastores(view)) {
      if (!d.endpoints || d.endpoints === UNKNOWN) continue;
      for (const e of d.endpoints) {
        const where = `${String(d.engine)} ${show(d.name)} ${e.path} (port ${show(e.port)})`;
        if (e.tls === false || (e.tls === undefined && missingIsFalse))
          out.push(
            finding(meta, `${where} has tls ${show(e.tls)}; required: true`, view.ref, `${e.path}.tls`),
          );
        if (
          e.requireClientCertificate === false ||
          (e.requireClientCertificate === undefined && missingIsFalse)
        )
          out.push(
            finding(
              meta,
              `${where} has requireClientCertificate ${show(e.requireClientCertificate)}; required: true (a datastore endpoint is never exempt)`,
              view.ref,
              `${e.path}.requireClientCertificate`,
            ),
          );
      }
    }
    return out;
  },
};
