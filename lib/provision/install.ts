/**
 * The life of one server, as the operator side drives it (the BmcServer provider runs this during
 * `pulumi up`): arm an install at the site, netboot it through the BMC, wait for enrollment, then
 * boot from disk and wait for the agent to prove its identity. No SSH at any point: the only
 * channels are the BMC and the site services' mutual-TLS API.
 */
import type { BmcClient, BootDeviceState, PowerState } from "../ipmi";
import { ROUTES, SiteError, type ServerStatus } from "../site";

export interface SiteApi {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

export interface ProvisionTarget {
  readonly serverId: string;
  readonly hostname: string;
  /** PXE MAC: the enrollment token is bound to it. */
  readonly mac: string;
}

export interface ProvisionOptions {
  /** Bound of each wait (netboot + install + enrollment; boot to ready). @default 600000 */
  readonly phaseTimeoutMs?: number;
  /** @default 1000 */
  readonly pollMs?: number;
  readonly log?: (msg: string) => void;
  /** Netboot retries, bounded; see NetbootRetry. @default DEFAULT_NETBOOT_RETRY */
  readonly netboot?: Partial<NetbootRetry>;
}

/**
 * A netboot that fails is tried again: re-armed at the site (a new one-time token: a site that
 * restarted has lost its pending netboot offers, which it keeps in memory only) and netbooted again
 * through the BMC, after a growing pause, a bounded number of times; every failed attempt is logged
 * and named in the final error.
 */
export interface NetbootRetry {
  /** Installs tried in all (the first included). */
  readonly attempts: number;
  /**
   * An attempt failed when the server has not fetched its netboot configuration (the site still says
   * "armed") this long after it was powered on into PXE: it did not netboot (the site was down, the
   * boot path is broken). Once netbooted, the install and enrollment have `phaseTimeoutMs`.
   */
  readonly netbootTimeoutMs: number;
  /** Pause before the second attempt, doubled before each further one. */
  readonly backoffMs: number;
  /** Longest pause. */
  readonly maxBackoffMs: number;
}

export const DEFAULT_NETBOOT_RETRY: NetbootRetry = {
  attempts: 3,
  netbootTimeoutMs: 120_000,
  backoffMs: 10_000,
  maxBackoffMs: 60_000,
};

/** Pause before attempt `n` (2, 3, …): backoff, doubled each time, capped. */
export function netbootBackoffMs(n: number, r: Pick<NetbootRetry, "backoffMs" | "maxBackoffMs">): number {
  return Math.min(r.maxBackoffMs, r.backoffMs * 2 ** Math.max(0, n - 2));
}

export interface ProvisionedServer {
  readonly power: PowerState;
  readonly bootDevice: BootDeviceState["device"];
  readonly certificate: NonNullable<ServerStatus["certificate"]>;
  readonly agentUser: string;
  readonly listeningTcpPorts: readonly number[];
}

export class ProvisionError extends Error {
  constructor(
    readonly serverId: string,
    message: string,
  ) {
    super(`server ${serverId}: ${message}`);
    this.name = "ProvisionError";
  }
}

/** Installs the server unless it is already installed and ready; then makes sure it runs from disk. */
export async function provisionServer(
  bmc: BmcClient,
  site: SiteApi,
  target: ProvisionTarget,
  opts: ProvisionOptions = {},
): Promise<ProvisionedServer> {
  const log = opts.log ?? (() => undefined);
  const current = await status(site, target.serverId);
  const install = !current?.certificate || current.phase === "armed" || current.phase === "netbooted";
  if (install) {
    await installFromPxe(bmc, site, target, opts, log);
  } else {
    log(
      `${target.serverId}: already enrolled (${current.certificate.subject}); making sure it runs from disk`,
    );
  }
  const boot = await bmc.getBootDevice();
  const power = await bmc.getPower();
  if (boot.device !== "disk" || !boot.persistent) await bmc.setBootDevice("disk", { persistent: true });
  const before = await status(site, target.serverId);
  // After an install the server idles in the installer: it must be cycled onto its disk even when the
  // site still remembers a readiness report from an earlier life of the same server.
  if (power === "off") await bmc.setPower("on");
  else if (install || !before?.lastReady) await bmc.cycle();
  const ready = await waitFor(
    site,
    target.serverId,
    (s) => s.phase === "ready" && !!s.lastReady && s.lastReady.at !== before?.lastReady?.at,
    opts,
    "the agent to report ready over mutual TLS",
  );
  log(`${target.serverId}: ready; agent runs as ${ready.lastReady?.agentUser}`);
  return {
    power: await bmc.getPower(),
    bootDevice: (await bmc.getBootDevice()).device,
    certificate: ready.certificate as NonNullable<ServerStatus["certificate"]>,
    agentUser: ready.lastReady?.agentUser ?? "",
    listeningTcpPorts: ready.lastReady?.listeningTcpPorts ?? [],
  };
}

async function installFromPxe(
  bmc: BmcClient,
  site: SiteApi,
  target: ProvisionTarget,
  opts: ProvisionOptions,
  log: (m: string) => void,
): Promise<void> {
  const retry = { ...DEFAULT_NETBOOT_RETRY, ...opts.netboot };
  const failures: string[] = [];
  for (let n = 1; n <= retry.attempts; n++) {
    if (n > 1) {
      const pause = netbootBackoffMs(n, retry);
      log(`${target.serverId}: netboot attempt ${n} of ${retry.attempts} in ${pause / 1000} s`);
      await sleep(pause);
    }
    log(`${target.serverId}: arming install at the site and netbooting through the BMC (attempt ${n})`);
    await site.post(ROUTES.arm, { serverId: target.serverId, hostname: target.hostname, mac: target.mac });
    await bmc.setBootDevice("pxe", { persistent: false });
    if ((await bmc.getPower()) === "on") await bmc.cycle();
    else await bmc.setPower("on");
    const failed = await awaitEnrollment(site, target.serverId, opts, retry);
    if (!failed) {
      log(`${target.serverId}: installed and enrolled${n > 1 ? ` (attempt ${n})` : ""}`);
      return;
    }
    failures.push(`attempt ${n}: ${failed}`);
    log(`${target.serverId}: netboot attempt ${n} of ${retry.attempts} failed: ${failed}`);
  }
  throw new ProvisionError(
    target.serverId,
    `netboot install failed ${retry.attempts} time(s): ${failures.join("; ")}. Check the site services and the server's console, then run the update again`,
  );
}

/** Undefined once the server enrolled; otherwise why this attempt failed. */
async function awaitEnrollment(
  site: SiteApi,
  id: string,
  opts: ProvisionOptions,
  retry: NetbootRetry,
): Promise<string | undefined> {
  const started = Date.now();
  const deadline = started + (opts.phaseTimeoutMs ?? 600_000);
  let last: ServerStatus | undefined;
  let unreachable: string | undefined;
  for (;;) {
    try {
      last = await status(site, id);
      unreachable = undefined;
    } catch (e) {
      unreachable = (e as Error).message.split("\n")[0].slice(0, 200);
    }
    if (last && (last.phase === "enrolled" || last.phase === "ready")) return undefined;
    const waited = Date.now() - started;
    const stuck = last?.phase === "armed" || last === undefined;
    if (stuck && waited >= retry.netbootTimeoutMs)
      return `the server did not fetch its netboot configuration within ${retry.netbootTimeoutMs / 1000} s (site says ${last?.phase ?? "nothing"}${unreachable ? `; site unreachable: ${unreachable}` : ""})`;
    if (Date.now() >= deadline)
      return `the installer did not enroll within ${(opts.phaseTimeoutMs ?? 600_000) / 1000} s (last phase: ${last?.phase ?? "unknown"})`;
    await sleep(opts.pollMs ?? 1000);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(site: SiteApi, id: string): Promise<ServerStatus | undefined> {
  try {
    return await site.get<ServerStatus>(ROUTES.server(id));
  } catch (err) {
    if (err instanceof SiteError && err.status === 404) return undefined;
    throw err;
  }
}

async function waitFor(
  site: SiteApi,
  id: string,
  done: (s: ServerStatus) => boolean,
  opts: ProvisionOptions,
  what: string,
): Promise<ServerStatus> {
  const deadline = Date.now() + (opts.phaseTimeoutMs ?? 600_000);
  let last: ServerStatus | undefined;
  while (Date.now() < deadline) {
    last = await status(site, id).catch(() => last);
    if (last && done(last)) return last;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
  throw new ProvisionError(id, `timed out waiting for ${what} (last phase: ${last?.phase ?? "unknown"})`);
}
