/**
 * The control plane's key layout. Every prefix ends with "/" so that a grant on computer "s1" can never
 * reach computer "s10" (etcd prefixes are byte prefixes, not path components).
 *
 *   /computers/<id>/desired          signed desired-state document; written by operators / stacks, read by the agent
 *   /computers/<id>/freshness        the data center's timestamp statement that the document is current
 *                                    (lib/desired-state/freshness.ts); written by the site, read by the agent
 *   /computers/<id>/report/status    instance status, written by the computer's agent
 *   /computers/<id>/report/usage     per-partition resource usage, written by the agent
 *   /computers/<id>/report/alerts/<alert-id>   abnormal-usage alerts with evidence, written by the agent
 *   /computers/<id>/requests/<request-id>      signed operator requests (restart, renew) the agent acts on
 *                                    (lib/agent/requests.ts); written by operators, read by the agent
 *   /sites/<dc>/...                  data of the data center's site services
 *   /crl/<dc>                        the data center's current CRL (PEM), published by its site services
 *   /releases/<name>@<version>       a signed software release (lib/release's SignedRelease JSON); written
 *                                    by operators / the stacks, readable by every computer (signed, no secret)
 */
import { ControlPlaneConfigError } from "./errors";

/** Computer ids and data center ids as the fleet inventory allows them; nothing that could escape a prefix. */
const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ALERT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkId(value: string, where: string): string {
  if (typeof value !== "string" || !ID.test(value)) {
    throw new ControlPlaneConfigError(
      `${where}: ${JSON.stringify(value)} is not a valid id; allowed: 1-63 of [a-z0-9-], starting with a letter or digit (no "/", no upper case)`,
    );
  }
  return value;
}

export const COMPUTERS_PREFIX = "/computers/";
export const SITES_PREFIX = "/sites/";
export const CRL_PREFIX = "/crl/";
export const RELEASES_PREFIX = "/releases/";
const RELEASE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const RELEASE_VERSION = /^[0-9A-Za-z.+-]{1,128}$/;

export const keys = {
  /** Everything of one computer (desired state and reports). */
  computer: (id: string): string => `${COMPUTERS_PREFIX}${checkId(id, "computer id")}/`,
  desired: (id: string): string => `${keys.computer(id)}desired`,
  /** The freshness statement of that document, next to it: the agent reads both with one role. */
  freshness: (id: string): string => `${keys.computer(id)}freshness`,
  /** The part of a computer's keys its own agent may write. */
  report: (id: string): string => `${keys.computer(id)}report/`,
  status: (id: string): string => `${keys.report(id)}status`,
  usage: (id: string): string => `${keys.report(id)}usage`,
  alerts: (id: string): string => `${keys.report(id)}alerts/`,
  alert: (id: string, alertId: string): string => {
    if (!ALERT_ID.test(alertId)) {
      throw new ControlPlaneConfigError(
        `alert id ${JSON.stringify(alertId)} is not valid; allowed: 1-128 of [A-Za-z0-9._-], no "/"`,
      );
    }
    return `${keys.alerts(id)}${alertId}`;
  },
  /** Operator requests to the agent (lib/agent/requests.ts): written by operators, read-only to the agent. */
  requests: (id: string): string => `${keys.computer(id)}requests/`,
  request: (id: string, requestId: string): string => {
    if (!ALERT_ID.test(requestId)) {
      throw new ControlPlaneConfigError(
        `request id ${JSON.stringify(requestId)} is not valid; allowed: 1-128 of [A-Za-z0-9._-], no "/"`,
      );
    }
    return `${keys.requests(id)}${requestId}`;
  },
  site: (dc: string): string => `${SITES_PREFIX}${checkId(dc, "data center id")}/`,
  crl: (dc: string): string => `${CRL_PREFIX}${checkId(dc, "data center id")}`,
  /** One signed release, e.g. `/releases/mariadb@10.11.6`. */
  release: (name: string, version: string): string => {
    if (!RELEASE_NAME.test(name) || !RELEASE_VERSION.test(version)) {
      throw new ControlPlaneConfigError(
        `release ${JSON.stringify(name)}@${JSON.stringify(version)} cannot be a key; allowed: a release name [a-z0-9._-] and a semantic version`,
      );
    }
    return `${RELEASES_PREFIX}${name}@${version}`;
  },
} as const;

/** The smallest key greater than every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i] += 1;
      return end.toString("latin1");
    }
  }
  return "\0";
}
