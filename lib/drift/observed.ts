/**
 * What drift detection observes about one server, from three independent sources: its BMC (power and
 * boot device over IPMI), its agent's report in the control plane, and live probes from the management
 * network. Observers (lib/drift/observe/) fill it; the comparison with the desired state and the rule
 * book (lib/rules) read it. A source that could not be read carries `error` instead of values: an
 * unreadable source is itself a finding, never a silent "no drift".
 */
import type { ObservedHost } from "../rules/host-views";

/** A source that could not be read, and why (no secret in the text). */
export interface ObservationError {
  readonly error: string;
}

export interface BmcObservation {
  readonly power: "on" | "off";
  /** As the BMC reports it: "disk", "pxe", "cdrom", "bios", "none", ... */
  readonly bootDevice: string;
}

export interface ReportedInstance {
  readonly name: string;
  readonly release: { readonly name: string; readonly version: string };
  readonly phase: string;
  readonly programs: readonly { readonly name: string; readonly state: string; readonly pid: number }[];
}

export interface ReportedCertificate {
  /** Which certificate: "computer", or "service:<instance>". */
  readonly name: string;
  readonly subject: string;
  readonly notAfter: string;
}

export interface ReportedAlert {
  readonly kind: string;
  readonly severity: string;
  readonly at: string;
  readonly detail: string;
}

/** The agent's report (/computers/<id>/report/...) as read from the control plane. */
export interface AgentReportObservation {
  /** When the agent wrote it (its own clock), and how old it was when read. */
  readonly at: string;
  readonly ageSeconds: number;
  readonly desired?: { readonly version: number; readonly digest: string };
  readonly instances: readonly ReportedInstance[];
  /** Packages, processes (uid, capabilities), accounts, listening sockets, firewall: the rule book's input. */
  readonly host: ObservedHost;
  readonly certificates: readonly ReportedCertificate[];
  /** SHA-256 of the live nftables ruleset (as PID 1 last listed it). */
  readonly nftablesSha256?: string;
  /**
   * SHA-256 of the ruleset as PID 1 listed it right after applying the image's file at boot: the
   * baseline a hand-made change departs from (the live digest differs). Same normalisation as
   * nftablesSha256 (lib/agent/host-observe.ts nftablesDigest). Optional, added by H8.
   */
  readonly nftablesAppliedSha256?: string;
  /** Why the agent could not report the ruleset (no listing from PID 1, unreadable). */
  readonly nftablesError?: string;
  readonly alerts: readonly ReportedAlert[];
}

export interface TlsProbe {
  readonly port: number;
  readonly subject?: string;
  readonly notAfter?: string;
  /** The server refused a handshake without a client certificate. */
  readonly demandsClientCertificate: boolean;
  /**
   * TLS started inside the application protocol (observe/starttls.ts); such a server demands the
   * client certificate at its login step, which a probe without a login does not reach.
   */
  readonly upgrade?: "postgresql" | "mysql";
  /** false: the port refused the connection (nothing listens); judged from the agent's report. */
  readonly listening?: false;
  /**
   * The server accepted the TCP connection and closed it without a byte, however TLS was started:
   * it admits only listed peers (Galera's wsrep_allowlist) and admitted nothing from the probe.
   */
  readonly closesOnProber?: true;
  readonly error?: string;
}

export interface SshProbe {
  readonly port: number;
  /** "closed": nothing listens; "refused": something answered but no SSH session; "accepted": an SSH server spoke. */
  readonly outcome: "closed" | "refused" | "accepted";
  readonly detail: string;
}

/** Live probes from the management network. */
export interface ProbeObservation {
  readonly address: string;
  readonly openTcpPorts: readonly number[];
  readonly ssh: readonly SshProbe[];
  readonly tls: readonly TlsProbe[];
}

export interface ObservedServer {
  readonly dataCenter: string;
  /** Computer id, e.g. "dc1-s1". */
  readonly server: string;
  readonly observedAt: string;
  readonly bmc: BmcObservation | ObservationError;
  readonly report: AgentReportObservation | ObservationError;
  readonly probes: ProbeObservation | ObservationError;
  /**
   * The desired state published for this computer in the control plane (its version and digest),
   * when the observer read it: drift compares it with what the agent reports having applied.
   * Optional (added after the first version of this contract): absent means not read.
   */
  readonly published?: { readonly version: number; readonly digest: string } | ObservationError;
}

export const isObservationError = (x: unknown): x is ObservationError =>
  typeof x === "object" && x !== null && typeof (x as ObservationError).error === "string";
