/**
 * The node agent's configuration files, as the installer (or the lab) writes them in /etc/zeroroot:
 *
 *   agent.json  who this node is, where its site and control plane are, how many partitions the image has
 *   trust.json  who may sign desired state and releases (lib/release's authorisation list, signers
 *               named by identity `dc1/software/<name>` or fingerprint), and CRLs
 *
 * The root certificate is root.crt next to them (the installer writes it). Parsing is pure: messages
 * name the file, the key path, what was received and what is allowed.
 */
import { parseAuthorisationList, type AuthorisationList } from "../release";
import { MAX_PARTITIONS } from "../hardening/partitions";
import { IMAGE_PATHS } from "../hardening/spec";
import { controlPlaneEndpointProblem, MAX_CONTROL_PLANE_ENDPOINTS } from "../controlplane/client-api";
import { describeValue } from "../fleet/issues";
import {
  HTTPS_ORIGIN_ALLOWED,
  SERVER_NAME_ALLOWED,
  httpsOriginProblem,
  serverNameProblem,
} from "../site/origin";

export class AgentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AgentConfigError";
  }
}

export interface AgentConfig {
  /** The server id: the CN of the computer certificate and its etcd user. */
  readonly serverId: string;
  readonly hostname: string;
  readonly siteUrl: string;
  readonly siteServerName: string;
  /** Absent: the agent only reports readiness to its site (the installer's minimal agent.json). */
  readonly controlPlane?: {
    readonly endpoints: readonly string[];
    /** @default 5000 */
    readonly timeoutMs: number;
    /**
     * Apply a new document only with a valid freshness statement of this data center's timestamp
     * service (docs/agent.md, "Freshness"). When false, a statement that is present is still
     * enforced (an invalid or expired one holds the document); only a missing one is tolerated, for
     * data centers whose site does not publish statements yet. @default false
     */
    readonly requireFreshness: boolean;
  };
  readonly paths: {
    /** The agent's own state (last verified desired state, accepted releases, instance records). @default "/var/lib/zeroroot/zr-agent/state" */
    readonly stateDir: string;
    /** Parent of the partitions' homes. @default "/var/lib/zeroroot" */
    readonly partitionsRoot: string;
    /** Where release files are, as `<releasesDir>/<name>@<version>/<path>`. @default "/opt/zeroroot/releases" */
    readonly releasesDir: string;
    /** supervisorctl binary. @default "/usr/bin/supervisorctl" */
    readonly supervisorctl: string;
    /** dpkg status file, to check a release's packages. @default "/var/lib/dpkg/status" */
    readonly dpkgStatus: string;
    /** PID 1's request socket, to have a partition's supervisord started and stopped. @default "/run/zeroroot/init.sock" */
    readonly initSocket: string;
    /** Where the agent leaves a partition's egress rules for PID 1 to load. @default "/var/lib/zeroroot/zr-agent/egress" */
    readonly egressDir: string;
  };
  /** Pre-created partitions zr-p000… (uids from 2100). @default 0 */
  readonly partitions: number;
  readonly intervals: {
    /** Usage and status reports. @default 15 */
    readonly reportSeconds: number;
    /** /proc sampling for usage and anomaly detection. @default 5 */
    readonly sampleSeconds: number;
    /** Re-read of the desired state besides the watch, and re-evaluation of retained instances. @default 30 */
    readonly resyncSeconds: number;
    /** Readiness report to the site. @default 60 */
    readonly readySeconds: number;
  };
  /** Overrides of the anomaly thresholds (lib/agent/anomaly.ts). @default - DEFAULT_THRESHOLDS */
  readonly anomaly: Readonly<Record<string, number>>;
}

/**
 * A received value for a message (escaped, bounded), hidden when it may hold a password: an `@`
 * anywhere in it, a list of URLs included.
 */
const shown = (v: unknown): string => describeValue(v, mayHoldPassword(v));

function mayHoldPassword(v: unknown): boolean {
  if (typeof v === "string") return v.includes("@");
  if (typeof v !== "object" || v === null) return false;
  try {
    return (JSON.stringify(v) ?? "").includes("@");
  } catch {
    return true;
  }
}

export function parseAgentConfig(data: unknown, where = "/etc/zeroroot/agent.json"): AgentConfig {
  const o = object(data, where);
  const str = (k: string, re?: RegExp): string => {
    const v = o[k];
    if (typeof v !== "string" || v === "" || (re && !re.test(v)))
      throw new AgentConfigError(`${where}: ${k}: got ${shown(v)}; expected a non-empty string`);
    return v;
  };
  const serverId = str("serverId", /^[a-z0-9][a-z0-9-]{0,62}$/);
  /** A string judged by one of lib/site/origin.ts's rules (the provider plugin's, without zod). */
  const checked = (k: string, problem: (v: string) => string | undefined, allowed: string): string => {
    const v = str(k);
    const p = problem(v);
    if (p) throw new AgentConfigError(`${where}: ${k}: ${shown(v)}: ${p}; allowed: ${allowed}`);
    return v;
  };
  const num = (
    obj: Record<string, unknown>,
    at: string,
    k: string,
    dflt: number,
    min: number,
    max: number,
  ) => {
    const v = obj[k] ?? dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max)
      throw new AgentConfigError(`${where}: ${at}${k}: got ${shown(v)}; expected a number ${min}-${max}`);
    return v;
  };
  let controlPlane: AgentConfig["controlPlane"];
  if (o.controlPlane !== undefined) {
    const cp = object(o.controlPlane, `${where}: controlPlane`);
    if (
      !Array.isArray(cp.endpoints) ||
      cp.endpoints.length === 0 ||
      cp.endpoints.length > MAX_CONTROL_PLANE_ENDPOINTS
    )
      throw new AgentConfigError(
        `${where}: controlPlane.endpoints: got ${shown(cp.endpoints)}; allowed: a list of 1-${MAX_CONTROL_PLANE_ENDPOINTS} distinct https://<dns-name>:<port> such as https://etcd.dc1.example.com:2379`,
      );
    for (const [index, e] of (cp.endpoints as unknown[]).entries()) {
      // the provider's rule for controlPlaneEndpoints: each a member's client URL, each once
      const problem =
        typeof e !== "string"
          ? "not a string"
          : (controlPlaneEndpointProblem(e) ??
            (cp.endpoints.indexOf(e) < index
              ? `the same as endpoints[${cp.endpoints.indexOf(e)}]`
              : undefined));
      if (problem)
        throw new AgentConfigError(
          `${where}: controlPlane.endpoints[${index}]: ${shown(e)}: ${problem}; allowed: https://<dns-name>:<port> such as https://etcd.dc1.example.com:2379`,
        );
    }
    const requireFreshness = cp.requireFreshness ?? false;
    if (typeof requireFreshness !== "boolean")
      throw new AgentConfigError(
        `${where}: controlPlane.requireFreshness: got ${shown(requireFreshness)}; expected true or false`,
      );
    controlPlane = {
      endpoints: cp.endpoints as string[],
      timeoutMs: num(cp, "controlPlane.", "timeoutMs", 5000, 200, 120_000),
      requireFreshness,
    };
  }
  const p = o.paths === undefined ? {} : object(o.paths, `${where}: paths`);
  const path = (k: string, dflt: string): string => {
    const v = p[k] ?? dflt;
    if (typeof v !== "string" || !v.startsWith("/"))
      throw new AgentConfigError(`${where}: paths.${k}: got ${shown(v)}; expected an absolute path`);
    return v.replace(/\/+$/, "") || "/";
  };
  const iv = o.intervals === undefined ? {} : object(o.intervals, `${where}: intervals`);
  const anomaly = o.anomaly === undefined ? {} : object(o.anomaly, `${where}: anomaly`);
  for (const [k, v] of Object.entries(anomaly))
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
      throw new AgentConfigError(`${where}: anomaly.${shown(k)}: got ${shown(v)}; expected a number >= 0`);
  return {
    serverId,
    hostname: str("hostname"),
    siteUrl: checked("siteUrl", httpsOriginProblem, HTTPS_ORIGIN_ALLOWED),
    siteServerName: checked("siteServerName", serverNameProblem, SERVER_NAME_ALLOWED),
    controlPlane,
    paths: {
      stateDir: path("stateDir", "/var/lib/zeroroot/zr-agent/state"),
      partitionsRoot: path("partitionsRoot", "/var/lib/zeroroot"),
      releasesDir: path("releasesDir", "/opt/zeroroot/releases"),
      supervisorctl: path("supervisorctl", "/usr/bin/supervisorctl"),
      dpkgStatus: path("dpkgStatus", "/var/lib/dpkg/status"),
      initSocket: path("initSocket", IMAGE_PATHS.initSocket),
      egressDir: path("egressDir", IMAGE_PATHS.egressRules),
    },
    partitions: Math.floor(num(o, "", "partitions", 0, 0, MAX_PARTITIONS)),
    intervals: {
      reportSeconds: num(iv, "intervals.", "reportSeconds", 15, 0.2, 3600),
      sampleSeconds: num(iv, "intervals.", "sampleSeconds", 5, 0.2, 3600),
      resyncSeconds: num(iv, "intervals.", "resyncSeconds", 30, 0.5, 3600),
      readySeconds: num(iv, "intervals.", "readySeconds", 60, 1, 86_400),
    },
    anomaly: anomaly as Record<string, number>,
  };
}

export const TRUST_KIND = "zeroroot.trust/v1";

/** /etc/zeroroot/trust.json: who may sign desired state and releases for this node. */
export interface TrustFile {
  readonly kind: typeof TRUST_KIND;
  /** lib/release's authorisation list: `desiredState` grants per data center, `releases` per release name. */
  readonly signers: AuthorisationList["signers"];
  /** PEM CRL files of the issuing CAs; a revoked signer is refused. @default - none */
  readonly crlFiles?: readonly string[];
}

export function parseTrustFile(
  data: unknown,
  where = "/etc/zeroroot/trust.json",
): { authorisation: AuthorisationList; crlFiles: string[] } {
  const o = object(data, where);
  if (o.kind !== TRUST_KIND)
    throw new AgentConfigError(`${where}: kind: got ${shown(o.kind)}; expected "${TRUST_KIND}"`);
  const extra = Object.keys(o).find((k) => !["kind", "signers", "crlFiles"].includes(k));
  if (extra)
    throw new AgentConfigError(`${where}: unknown key ${shown(extra)}; allowed: kind, signers, crlFiles`);
  let authorisation: AuthorisationList;
  try {
    authorisation = parseAuthorisationList({ signers: o.signers }, where);
  } catch (e) {
    throw new AgentConfigError((e as Error).message);
  }
  const crl = o.crlFiles ?? [];
  if (!Array.isArray(crl) || crl.length > 64 || !crl.every((f) => typeof f === "string" && f.startsWith("/")))
    throw new AgentConfigError(
      `${where}: crlFiles: expected a list of at most 64 absolute paths, got ${shown(crl)}`,
    );
  if (!authorisation.signers.some((s) => (s.desiredState ?? []).length > 0))
    throw new AgentConfigError(
      `${where}: no signer may sign desired state, so this node would refuse every document; add {"identity": "<dc>/software/<name>", "desiredState": ["<dc>"]}`,
    );
  return { authorisation, crlFiles: crl as string[] };
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new AgentConfigError(`${where}: expected a JSON object, got ${shown(v)}`);
  return v as Record<string, unknown>;
}
