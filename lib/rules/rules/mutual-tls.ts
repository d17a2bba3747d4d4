import { UNKNOWN, finding, show, type Finding, type Rule } from "../types";
import type { HostView } from "../views";

export interface MutualTlsConfig {
  /** Ports exempt from the rule (none by default: every endpoint of the platform is mutual TLS). */
  readonly exemptPorts: readonly number[];
}

const meta = {
  name: "mutual-tls",
  description:
    "Checks that every service endpoint speaks TLS with a certificate from the platform's hierarchy and refuses clients that present no certificate from it.",
  severity: "critical",
  remediation:
    "Set tls: true and requireClientCertificate: true on the endpoint, and configure the daemon with its service certificate and the platform CA as the only trusted client CA.",
  invariant: "4. Mutual TLS everywhere",
  defaults: { exemptPorts: [] },
  configSchema: { exemptPorts: { type: "array", items: { type: "integer" } } },
} as const;

export const mutualTls: Rule<HostView, MutualTlsConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(view, config) {
    const out: Finding[] = [];
    if (!view.listening || view.listening === UNKNOWN) return out;
    // A live host may not know whether a socket is TLS; a declared endpoint must say so.
    const missingIsFalse = view.source !== "Host";
    for (const e of view.listening) {
      if (typeof e.port === "number" && config.exemptPorts.includes(e.port)) continue;
      const where = `${e.path} (port ${show(e.port)})`;
      if (e.tls === false || (e.tls === undefined && missingIsFalse))
        out.push(finding(meta, `${where} has tls ${show(e.tls)}; required: true`, view.ref, `${e.path}.tls`));
      if (
        e.requireClientCertificate === false ||
        (e.requireClientCertificate === undefined && missingIsFalse)
      )
        out.push(
          finding(
            meta,
            `${where} has requireClientCertificate ${show(e.requireClientCertificate)}; required: true`,
            view.ref,
            `${e.path}.requireClientCertificate`,
          ),
        );
    }
    return out;
  },
};
