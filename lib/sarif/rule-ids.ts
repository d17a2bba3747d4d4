/**
 * SARIF rule ids: stable and opaque, distinct from the rule names people read (SARIF 2.1.0 §3.49.3;
 * Microsoft's validator reports an id equal to its name as SARIF1001). Code-scanning tools key
 * alerts on the id, so an id is never reused or renumbered: a retired rule keeps its number.
 * ZR1xxx: the policy pack (rule book and pack-only policies); ZR2xxx: drift detection's checks.
 */
import { createHash } from "node:crypto";

export const SARIF_RULE_IDS: Readonly<Record<string, string>> = {
  "zero-root": "ZR1001",
  "no-ssh": "ZR1002",
  "zero-password": "ZR1003",
  "zero-password-state": "ZR1004",
  "mutual-tls": "ZR1005",
  certificate: "ZR1006",
  bmc: "ZR1007",
  "signed-software": "ZR1008",
  persistence: "ZR1009",
  spread: "ZR1010",
  exemptions: "ZR1011",
  "datastore-client-certificates": "ZR1012",
  "pg-hba-cert-only": "ZR1013",
  "mariadb-certificate-users": "ZR1014",
  "encryption-at-rest": "ZR1015",
  "per-user-egress": "ZR1016",
  "power-state": "ZR2001",
  "boot-device": "ZR2002",
  "instance-missing": "ZR2003",
  "instance-stopped": "ZR2004",
  "release-version": "ZR2005",
  "instance-unexpected": "ZR2006",
  "desired-state-unacknowledged": "ZR2007",
  "report-stale": "ZR2008",
  "certificate-expiry": "ZR2009",
  "firewall-ruleset": "ZR2010",
  "unexpected-port": "ZR2011",
  "ssh-accepted": "ZR2012",
  "tls-client-certificate": "ZR2013",
  "source-unreadable": "ZR2014",
  "agent-alert": "ZR2015",
};

/**
 * The SARIF id of a rule or policy name. A name not in the table yet (a rule added without its
 * id) still gets an opaque, stable id derived from it, so the output stays valid; the unit tests
 * require every rule of the pack and of drift to be in the table.
 */
export function sarifRuleId(name: string): string {
  if (Object.prototype.hasOwnProperty.call(SARIF_RULE_IDS, name)) return SARIF_RULE_IDS[name];
  return `ZRX${createHash("sha256").update(name).digest("hex").slice(0, 8).toUpperCase()}`;
}

/** `mutual-tls` → `MutualTls`: the human-readable `name` of a SARIF rule (never equal to its id). */
export const sarifRuleName = (name: string): string =>
  name
    .split("-")
    .map((w) => (w ? w[0].toUpperCase() + w.slice(1) : w))
    .join("");
