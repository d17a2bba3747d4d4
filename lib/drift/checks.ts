/**
 * The desired-versus-observed checks of drift detection, beside the rule book's host rules (which
 * drift runs unchanged on the observed hosts). Each says who can fix what it finds: the platform
 * itself, safely and without touching data (`--remediate`), or a human (escalated with evidence,
 * and fenced through the BMC when the stack's `zeroroot:drift.fence` names it).
 */
import { HOST_RULES, type Severity } from "../rules";

/** What `--remediate` may do: each is one method of lib/drift/remediate.ts `RemediationActions`. */
export type PlatformRemedy =
  "setBootDevice" | "restartInstance" | "renewCertificate" | "republishDesiredState";

export interface CheckMeta {
  /** kebab-case, stable: exemptions, `fence` and history keys use it. */
  readonly name: string;
  readonly description: string;
  readonly severity: Severity;
  readonly remediation: string;
  /** The platform can fix it itself (which action), or a human must (`"human"`). */
  readonly remedy: PlatformRemedy | "human";
}

const check = (c: CheckMeta) => c;

export const DRIFT_CHECKS = {
  power: check({
    name: "power-state",
    description:
      "Checks that the BMC reports the power state the stack wants (on, or off when decommissioned).",
    severity: "high",
    remediation: "Find out why the server changed power state, then run `pulumi up` for its stack.",
    remedy: "human",
  }),
  bootDevice: check({
    name: "boot-device",
    description: "Checks that the BMC boots the installed server from its disk, not from the network.",
    severity: "high",
    remediation: "Set the boot device back to disk through the BMC (`zeroroot drift --remediate`).",
    remedy: "setBootDevice",
  }),
  instanceMissing: check({
    name: "instance-missing",
    description: "Checks that every instance of the server's desired state is reported by its agent.",
    severity: "high",
    remediation: "Re-publish the desired state so the agent applies it (`zeroroot drift --remediate`).",
    remedy: "republishDesiredState",
  }),
  instanceStopped: check({
    name: "instance-stopped",
    description: "Checks that every desired instance runs and all its programs are RUNNING.",
    severity: "high",
    remediation:
      "Restart the instance through its agent (`zeroroot drift --remediate`); read its logs if it stops again.",
    remedy: "restartInstance",
  }),
  releaseVersion: check({
    name: "release-version",
    description: "Checks that each instance runs the release and version its desired state names.",
    severity: "high",
    remediation: "Re-publish the desired state so the agent installs the signed release it names.",
    remedy: "republishDesiredState",
  }),
  instanceUnexpected: check({
    name: "instance-unexpected",
    description: "Checks that the agent runs no instance its desired state does not name.",
    severity: "medium",
    remediation:
      "Re-publish the desired state; the agent removes the instance once its minimum persistence time has passed.",
    remedy: "republishDesiredState",
  }),
  desiredState: check({
    name: "desired-state-unacknowledged",
    description: "Checks that the agent reports having applied the desired state published for it.",
    severity: "high",
    remediation:
      "Re-sign and re-publish the desired state (`zeroroot drift --remediate`), then look at the agent's alerts.",
    remedy: "republishDesiredState",
  }),
  reportStale: check({
    name: "report-stale",
    description: "Checks that the agent's last report is younger than `zeroroot:drift.staleReportSeconds`.",
    severity: "high",
    remediation:
      "Find out why the agent stopped reporting (the server, its agent, its certificate, the network).",
    remedy: "human",
  }),
  certificateExpiry: check({
    name: "certificate-expiry",
    description:
      "Checks that no certificate a server uses expires within `zeroroot:drift.certificateWarningDays`.",
    severity: "high",
    remediation: "Renew the certificate by a new CSR from the node (`zeroroot drift --remediate`).",
    remedy: "renewCertificate",
  }),
  firewall: check({
    name: "firewall-ruleset",
    description: "Checks that the live nftables ruleset hashes to the one the desired state implies.",
    severity: "critical",
    remediation:
      "Someone changed the firewall by hand: find out who, then reinstall or reboot the server into its image.",
    remedy: "human",
  }),
  unexpectedPort: check({
    name: "unexpected-port",
    description: "Checks that a server answers only on ports its image's firewall allows.",
    severity: "critical",
    remediation:
      "Find and stop the program listening on the port; reinstall the server if its image was changed.",
    remedy: "human",
  }),
  sshAccepted: check({
    name: "ssh-accepted",
    description:
      "Checks that no SSH server answers on a server (invariant 1): the SSH probe must be refused.",
    severity: "critical",
    remediation: "An SSH server runs on a platform server: isolate it, find how it got there, reinstall it.",
    remedy: "human",
  }),
  tlsClientCertificate: check({
    name: "tls-client-certificate",
    description: "Checks that every TLS endpoint refuses a client without a certificate (invariant 4).",
    severity: "critical",
    remediation: "Configure the service to require client certificates from the hierarchy; redeploy it.",
    remedy: "human",
  }),
  sourceUnreadable: check({
    name: "source-unreadable",
    description:
      "Checks that each source (BMC, agent report, probes) could be read: what cannot be seen is not assumed clean.",
    severity: "high",
    remediation:
      "Restore access to the source named in the finding (BMC network, control plane, management network).",
    remedy: "human",
  }),
  agentAlert: check({
    name: "agent-alert",
    description: "Checks that the agent raised no alert (abnormal usage, refused release or desired state).",
    severity: "medium",
    remediation: "Read the alert's detail and act on it; the agent keeps raising it while the cause lasts.",
    remedy: "human",
  }),
} as const;

/** Rule-book rules drift runs on live hosts: all need a human (a root process, an SSH daemon, …). */
export const HOST_RULE_CHECKS: readonly CheckMeta[] = HOST_RULES.map((r) => ({
  name: r.name,
  description: r.description,
  severity: r.severity,
  remediation: r.remediation,
  remedy: "human" as const,
}));

/** Every check a drift finding can name, in report order. */
export const ALL_CHECKS: readonly CheckMeta[] = [...HOST_RULE_CHECKS, ...Object.values(DRIFT_CHECKS)];

export const checkByName = (name: string): CheckMeta | undefined => ALL_CHECKS.find((c) => c.name === name);

/** Checks whose findings need a human: the only ones `zeroroot:drift.fence` may name. */
export const FENCEABLE = ALL_CHECKS.filter((c) => c.remedy === "human").map((c) => c.name);
