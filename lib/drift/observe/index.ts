/**
 * lib/drift/observe: what is really there, per server, from three independent sources — its BMC,
 * its agent's report in the control plane, and live probes from the management network — as
 * lib/drift/observed.ts's ObservedServer. A source that cannot be read yields `{ error }` naming why
 * (never a silent "no drift"); sources are read in parallel, each with its own deadline, and servers
 * with bounded concurrency, so one dead BMC or a filtered network does not stall a sweep.
 *
 *   const observed = await observeFleet(targets, { controlPlane, bmcClient: (ep) => new IpmitoolBmcClient(ep) });
 */
import { IpmitoolBmcClient, type BmcClient, type BmcEndpoint } from "../../ipmi";
import type { ControlPlaneClient } from "../../controlplane";
import type { ObservationError, ObservedServer } from "../observed";
import { mapBounded, reasonOf, withDeadline } from "./bounded";
import { observeBmc } from "./bmc";
import { probeServer, type ProbeOptions } from "./probes";
import { observeReport } from "./report";

export { readBmc, observeBmc } from "./bmc";
export { observeReport, reportObservation, publishedObservation, MAX_REPORT_BYTES } from "./report";
export {
  probeServer,
  tcpOpen,
  sshProbe,
  tlsProbe,
  PROBE_PORTS,
  COMMON_HIGH_PORTS,
  type ProbeOptions,
} from "./probes";
export { mapBounded, withDeadline } from "./bounded";

/** One server to observe: where its BMC and its data address are, and what its stack declares. */
export interface ObserveTarget {
  readonly dataCenter: string;
  /** Computer id (the agent's report key). */
  readonly server: string;
  /** With its password (from the stack's secrets, never logged); undefined: the BMC is not observed. */
  readonly bmc?: BmcEndpoint;
  /** Data-network address the probes connect to. */
  readonly address: string;
  readonly declaredTcpPorts: readonly number[];
  readonly tlsPorts: readonly number[];
}

export interface ObserveOptions {
  /** An operator's control-plane client; undefined: reports are observation errors saying so. */
  readonly controlPlane?: ControlPlaneClient;
  /** How to reach a BMC (the lab runs ipmitool in its management namespace). @default - IpmitoolBmcClient */
  readonly bmcClient?: (endpoint: BmcEndpoint) => BmcClient;
  /** Servers observed at once. @default 8 */
  readonly concurrency?: number;
  readonly timeouts?: {
    /** @default 20000 (a BMC session with one retry) */
    readonly bmcMs?: number;
    /** @default 10000 */
    readonly reportMs?: number;
    /** All probes of one server. @default 60000 */
    readonly probesMs?: number;
  };
  /** Port list, connect timeout and per-server concurrency of the scan. */
  readonly probes?: Omit<ProbeOptions, "declaredTcpPorts" | "tlsPorts">;
  /** Skip the probes (e.g. where the management network does not reach the data network). @default false */
  readonly skipProbes?: boolean;
  /** @default - the current time */
  readonly now?: () => Date;
}

const unread = (error: string): ObservationError => ({ error });

/** Observes one server from all three sources at once. */
export async function observeServer(t: ObserveTarget, opts: ObserveOptions = {}): Promise<ObservedServer> {
  const now = opts.now ?? (() => new Date());
  const tm = opts.timeouts ?? {};
  const bmc = t.bmc
    ? Promise.resolve(t.bmc)
        .then((ep) =>
          observeBmc((opts.bmcClient ?? ((e) => new IpmitoolBmcClient(e)))(ep), tm.bmcMs ?? 20_000),
        )
        // a client refused at construction (a bad endpoint in the stack) is this server's finding
        .catch((e: unknown) => unread(reasonOf(e)))
    : Promise.resolve(unread("no BMC login is known for this server (see docs/drift.md, Credentials)"));
  const report = opts.controlPlane
    ? observeReport(opts.controlPlane, t.server, tm.reportMs ?? 10_000, now)
    : Promise.resolve({ report: unread("no control-plane client: the agent's report was not read") });
  const probesMs = tm.probesMs ?? 60_000;
  const probes = opts.skipProbes
    ? Promise.resolve(unread("probes skipped"))
    : withDeadline(
        probeServer(t.address, {
          ...opts.probes,
          declaredTcpPorts: t.declaredTcpPorts,
          tlsPorts: t.tlsPorts,
        }),
        probesMs,
        `the probes of ${t.address}`,
      ).catch((e: unknown) => unread(reasonOf(e)));
  const [b, r, p] = await Promise.all([bmc, report, probes]);
  return {
    dataCenter: t.dataCenter,
    server: t.server,
    observedAt: now().toISOString(),
    bmc: b,
    report: r.report,
    probes: p,
    ...("published" in r && r.published !== undefined ? { published: r.published } : {}),
  };
}

/** Observes every target, `concurrency` servers at a time; results in the targets' order. */
export function observeFleet(
  targets: readonly ObserveTarget[],
  opts: ObserveOptions = {},
): Promise<ObservedServer[]> {
  return mapBounded(targets, opts.concurrency ?? 8, (t) => observeServer(t, opts));
}
