/**
 * Honest convergence of a data center's servers: read what is (BMC power over IPMI, PID 1 in the
 * server's namespace, the agent's ready report at the site), act through the BMC and the site
 * (power on, power cycle, re-arm and netboot), read again, and report only what was read last.
 * Runs inside the data center's management namespace (converge-cli.ts), where its BMCs and site
 * services are reachable, as the operator reaches them.
 */
import { statSync } from "node:fs";
import { IpmitoolBmcClient, spawnRunner } from "../../lib/ipmi";
import { netbootBackoffMs, type NetbootRetry } from "../../lib/provision";
import { ROUTES, SiteClient, SiteError, type ServerStatus } from "../../lib/site";
import { serverStatus } from "../server";
import { decide, describe, type Action, type Graces, type Observed } from "./converge-plan";
import { DOMAIN, serverNs, SITE_PORT, type LabLayout } from "./layout";
import { labBmcLogin } from "../bmc/login";

/** Marks converge-cli.ts's result lines (one JSON ServerResult each). */
export const RESULT_MARK = "RESULT ";

export interface ServerResult {
  readonly id: string;
  readonly converged: boolean;
  /** What was done, in order ("restart: its BMC reports power on but its PID 1 is not running"). */
  readonly acted: readonly string[];
  /** The last reading. */
  readonly seen: string;
  readonly why?: string;
}

export interface ConvergeOptions extends Graces {
  /** Bound for one server. @default 420000 */
  readonly timeoutMs?: number;
  /** At most this many actions per server. @default 4 */
  readonly maxActions?: number;
  readonly pollMs?: number;
  readonly log?: (m: string) => void;
  readonly identity: { readonly certificateChainPem: string; readonly privateKeyPem: string };
  readonly rootPem: string;
}

/** The lab's pauses between netboots of one server (its attempts are bounded by maxActions). */
const LAB_NETBOOT_RETRY: Pick<NetbootRetry, "backoffMs" | "maxBackoffMs"> = {
  backoffMs: 5000,
  maxBackoffMs: 30_000,
};

/** How long an action may take to show as a new boot before the server is judged again. */
const SETTLE_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const msg = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 300);

/** PID 1 is in the network namespace the lab gave the server (not merely some live process). */
function inItsNetns(pid: number, ns: string): boolean {
  try {
    return statSync(`/proc/${pid}/ns/net`).ino === statSync(`/run/netns/${ns}`).ino;
  } catch {
    return false;
  }
}

export async function convergeDataCenter(
  lab: LabLayout,
  dcId: string,
  opts: ConvergeOptions,
): Promise<ServerResult[]> {
  const dc = lab.plan.dataCenters.find((d) => d.id === dcId);
  if (!dc) throw new Error(`no data center ${JSON.stringify(dcId)} in the lab's plan`);
  const site = new SiteClient({
    url: `https://${dc.managementServer.managementAddress}:${SITE_PORT}`,
    serverName: `site.${dc.id}.${DOMAIN}`,
    trust: opts.rootPem,
    identity: opts.identity,
    timeoutMs: 15_000,
  });
  return Promise.all(
    dc.servers.map((s) => {
      const bmc = new IpmitoolBmcClient(
        {
          serverId: s.id,
          address: s.bmcAddress,
          ...labBmcLogin(lab, s.id),
          cipherSuite: 3,
        },
        { runner: spawnRunner(), retry: { retries: 1 } },
      );
      const target = {
        id: s.id,
        mac: s.mac ?? "",
        hostname: `${s.id.slice(dc.id.length + 1)}.${dc.id}.${DOMAIN}`,
      };
      return convergeServer(lab, target, bmc, site, opts);
    }),
  );
}

async function observe(
  lab: LabLayout,
  id: string,
  bmc: IpmitoolBmcClient,
  site: SiteClient,
): Promise<Observed> {
  const power = await bmc.getPower().then(
    (p) => ({ power: p }),
    (e: unknown) => ({ error: msg(e) }),
  );
  const st = serverStatus(id, { labDir: lab.dir });
  const running = st.running && st.pid !== undefined && inItsNetns(st.pid, serverNs(id));
  const record = await site.get<ServerStatus>(ROUTES.server(id)).then(
    (r) => ({ phase: r.phase, enrolled: !!r.certificate, lastReadyAt: r.lastReady?.at }),
    (e: unknown) => (e instanceof SiteError && e.status === 404 ? { enrolled: false } : { error: msg(e) }),
  );
  return {
    id,
    bmc: power,
    server: {
      running,
      device: running ? st.device : undefined,
      bootedAt: running ? st.bootedAt : undefined,
      ready: running && st.ready,
      failure: running ? st.failure : undefined,
      installerExitCode: running ? st.installerExitCode : undefined,
      diskInstalled: st.diskInstalled,
    },
    site: record,
  };
}

async function act(
  action: Action,
  target: { id: string; mac: string; hostname: string },
  bmc: IpmitoolBmcClient,
  site: SiteClient,
  power: "on" | "off",
): Promise<void> {
  if (action === "reinstall") {
    // As the BmcServer provider installs: arm a one-time token at the site, netboot once.
    await site.post(ROUTES.arm, { serverId: target.id, hostname: target.hostname, mac: target.mac });
    await bmc.setBootDevice("pxe", { persistent: false });
  } else await bmc.setBootDevice("disk", { persistent: true });
  if (power === "on") await bmc.cycle();
  else await bmc.setPower("on");
}

export async function convergeServer(
  lab: LabLayout,
  target: { id: string; mac: string; hostname: string },
  bmc: IpmitoolBmcClient,
  site: SiteClient,
  opts: ConvergeOptions,
): Promise<ServerResult> {
  const log = opts.log ?? (() => undefined);
  const deadline = Date.now() + (opts.timeoutMs ?? 420_000);
  const acted: string[] = [];
  let last = await observe(lab, target.id, bmc, site);
  let actedAt = 0;
  // When the current netboot was first seen to have failed: the retry pause runs from there, not
  // from the netboot itself (an install that takes longer than the pause would otherwise skip it).
  let failureSeenAt: number | undefined;
  for (;;) {
    let d = decide(last, Date.now(), opts);
    // An action shows only once the BMC's hook has booted the server: until then (or a bound), wait.
    const bootedSince = last.server.bootedAt !== undefined && Date.parse(last.server.bootedAt) >= actedAt;
    if (d.action !== "none" && d.action !== "unreachable" && !bootedSince && Date.now() - actedAt < SETTLE_MS)
      d = { action: "wait", why: `waiting for the effect of ${acted[acted.length - 1]}` };
    // A netboot that failed is tried again, after a pause that grows with each failure (bounded),
    // unless the server has no actions left (then it is named at once, below).
    const reinstalls = acted.filter((a) => a.startsWith("reinstall")).length;
    const pause = netbootBackoffMs(reinstalls + 1, LAB_NETBOOT_RETRY);
    const actionsLeft = acted.length < (opts.maxActions ?? 4);
    if (d.action === "reinstall" && reinstalls > 0 && actionsLeft) {
      if (failureSeenAt === undefined) {
        failureSeenAt = Date.now();
        log(`${target.id}: netboot failed (${d.why}); netbooting again in ${pause / 1000} s`);
      }
      if (Date.now() - failureSeenAt < pause)
        d = { action: "wait", why: `netboot retry pause after: ${d.why}` };
    }
    if (d.action === "none") return { id: target.id, converged: true, acted, seen: describe(last) };
    if (d.action === "unreachable")
      return { id: target.id, converged: false, acted, seen: describe(last), why: d.why };
    if (Date.now() > deadline)
      return {
        id: target.id,
        converged: false,
        acted,
        seen: describe(last),
        why: `not converged within ${Math.round((opts.timeoutMs ?? 420_000) / 1000)} s (${d.why})`,
      };
    if (d.action !== "wait") {
      if (acted.length >= (opts.maxActions ?? 4))
        return { id: target.id, converged: false, acted, seen: describe(last), why: `gave up: ${d.why}` };
      log(`${target.id}: ${d.action}: ${d.why}`);
      acted.push(`${d.action}: ${d.why}`);
      actedAt = Date.now();
      failureSeenAt = undefined;
      try {
        await act(d.action, target, bmc, site, (last.bmc as { power: "on" | "off" }).power);
      } catch (e) {
        return {
          id: target.id,
          converged: false,
          acted,
          seen: describe(last),
          why: `${d.action} failed: ${msg(e)}`,
        };
      }
    }
    await sleep(opts.pollMs ?? 2000);
    last = await observe(lab, target.id, bmc, site);
  }
}
