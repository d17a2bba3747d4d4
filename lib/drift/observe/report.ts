/**
 * The agent-report observer: the status report the agent writes at /computers/<id>/report/status
 * (agents/node/report.ts), read with the operator's certificate, checked against a bounded schema and
 * aged when read. Only the computer itself can write under its report prefix (its etcd role, bound
 * to its certificate), so the report is the agent's word — or an intruder's on that server, which is
 * why every list is bounded and the probes check the network side independently.
 *
 * Also reads the desired state published for the computer (its version and digest), which drift
 * compares with the version the agent says it applied.
 */
import { z } from "zod";
import { keys, type ControlPlaneClient } from "../../controlplane";
import { desiredStateDigest, validateDesiredState } from "../../desired-state";
import { HOST_REPORT_LIMITS as L } from "../../agent/host-observe";
import type { AgentReportObservation, ObservationError } from "../observed";
import { reasonOf, withDeadline } from "./bounded";

/** Largest report accepted (the agent's is a few KB; etcd's request limit is 1.5 MB). */
export const MAX_REPORT_BYTES = 1_000_000;

const text = (max: number) => z.string().max(max);
const int = z.number().int();
const port = int.min(0).max(65_535);

const reportSchema = z.object({
  computerId: text(63),
  at: text(40).refine((s) => !Number.isNaN(Date.parse(s)), "not a time"),
  desired: z
    .object({ version: int, digest: text(100) })
    .nullable()
    .optional(),
  instances: z
    .array(
      z.object({
        name: text(63),
        release: z.object({ name: text(63), version: text(128) }),
        phase: text(32),
        programs: z.array(z.object({ name: text(128), state: text(32), pid: int })).max(100),
      }),
    )
    .max(500),
  host: z
    .object({
      // the agent's own bounds: an agent never exceeds them, so more is not an agent's report
      packages: z.array(text(128)).max(L.packages).optional(),
      processes: z
        .array(
          z.object({
            pid: int,
            name: text(64),
            command: text(L.commandChars).optional(),
            user: text(64).optional(),
            uid: int,
            capabilities: z.array(text(32)).max(64),
            noNewPrivileges: z.boolean(),
          }),
        )
        .max(L.processes)
        .optional(),
      accounts: z
        .array(z.object({ user: text(64), uid: int }))
        .max(L.accounts)
        .optional(),
      listening: z
        .array(z.object({ port, protocol: text(8) }))
        .max(L.listening)
        .optional(),
      firewall: z
        .object({
          inputPolicy: text(16),
          allowedTcpPorts: z.array(port).max(L.firewallPorts),
          allowedUdpPorts: z.array(port).max(L.firewallPorts),
        })
        .optional(),
    })
    .optional(),
  nftables: z
    .object({
      sha256: text(80).optional(),
      appliedSha256: text(80).optional(),
      error: text(500).optional(),
    })
    .optional(),
  certificates: z
    .array(z.object({ name: text(128), subject: text(1024), notAfter: text(40) }))
    .max(1_000)
    .optional(),
  alerts: z
    .array(z.object({ kind: text(64), severity: text(16), at: text(40), detail: text(1000) }))
    .max(200)
    .optional(),
});

export type ParsedReport = z.infer<typeof reportSchema>;

/** The report text as an observation, aged at `now`; a report that is not the agent's shape is an error. */
export function reportObservation(
  computerId: string,
  raw: string,
  now: Date,
): AgentReportObservation | ObservationError {
  if (Buffer.byteLength(raw) > MAX_REPORT_BYTES)
    return {
      error: `the agent's report is ${Buffer.byteLength(raw)} bytes; at most ${MAX_REPORT_BYTES} are read`,
    };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { error: "the agent's report is not JSON" };
  }
  const parsed = reportSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return {
      error: `the agent's report does not have the expected shape at ${i.path.join(".") || "(top)"}: ${i.message}`,
    };
  }
  const r = parsed.data;
  if (r.computerId !== computerId)
    return { error: `the report under ${computerId}'s key names computer ${JSON.stringify(r.computerId)}` };
  const h = r.host;
  return {
    at: r.at,
    ageSeconds: Math.max(0, (now.getTime() - Date.parse(r.at)) / 1000),
    ...(r.desired ? { desired: r.desired } : {}),
    instances: r.instances.map((i) => ({
      name: i.name,
      release: i.release,
      phase: i.phase,
      programs: i.programs,
    })),
    // An agent too old to report its host leaves every list undefined: not judged, never "clean".
    host: { hostId: computerId, ...(h ?? {}) },
    certificates: r.certificates ?? [],
    ...(r.nftables?.sha256 ? { nftablesSha256: r.nftables.sha256 } : {}),
    ...(r.nftables?.appliedSha256 ? { nftablesAppliedSha256: r.nftables.appliedSha256 } : {}),
    ...(r.nftables?.error ? { nftablesError: r.nftables.error } : {}),
    alerts: (r.alerts ?? []).map((a) => ({ kind: a.kind, severity: a.severity, at: a.at, detail: a.detail })),
  };
}

/** The version and digest of the document published for the computer (undefined: none published). */
export function publishedObservation(
  raw: string | undefined,
): { version: number; digest: string } | ObservationError | undefined {
  if (raw === undefined) return undefined;
  try {
    const signed = JSON.parse(raw) as { document?: unknown };
    const doc = validateDesiredState(signed.document);
    return { version: doc.version, digest: desiredStateDigest(doc) };
  } catch (e) {
    return { error: `the published desired state cannot be read: ${reasonOf(e)}` };
  }
}

export interface ReportObservations {
  readonly report: AgentReportObservation | ObservationError;
  readonly published?: { version: number; digest: string } | ObservationError;
}

/** Reads one computer's report and published desired state, each bounded by `timeoutMs`. */
export async function observeReport(
  client: ControlPlaneClient,
  computerId: string,
  timeoutMs: number,
  now: () => Date = () => new Date(),
): Promise<ReportObservations> {
  const read = (key: string) => withDeadline(client.get(key), timeoutMs, `the control plane (${key})`);
  let report: AgentReportObservation | ObservationError;
  try {
    const raw = await read(keys.status(computerId));
    report =
      raw === undefined
        ? { error: `the agent of ${computerId} has never reported (no ${keys.status(computerId)})` }
        : reportObservation(computerId, raw, now());
  } catch (e) {
    report = { error: reasonOf(e) };
  }
  let published: ReportObservations["published"];
  try {
    published = publishedObservation(await read(keys.desired(computerId)));
  } catch (e) {
    published = { error: reasonOf(e) };
  }
  return { report, ...(published !== undefined ? { published } : {}) };
}
