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
  log(`${target.serverId}: arming install at the site and netbooting through the BMC`);
  await site.post(ROUTES.arm, { serverId: target.serverId, hostname: target.hostname, mac: target.mac });
  await bmc.setBootDevice("pxe", { persistent: false });
  if ((await bmc.getPower()) === "on") await bmc.cycle();
  else await bmc.setPower("on");
  await waitFor(
    site,
    target.serverId,
    (s) => s.phase === "enrolled" || s.phase === "ready",
    opts,
    "the installer to enroll",
  );
  log(`${target.serverId}: installed and enrolled`);
}

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
