/**
 * What `lab up` does with one server, decided from what it read — never from what it recorded:
 * the BMC's power, whether the server's PID 1 is alive in its namespace, what it booted from, and
 * whether its agent reported ready to the site since that boot. Pure: converge.ts reads and acts.
 */

export interface Observed {
  readonly id: string;
  /** Power as the BMC reports it, or why the BMC could not be read. */
  readonly bmc: { readonly power: "on" | "off" } | { readonly error: string };
  readonly server: {
    /** PID 1 alive (same PID namespace as recorded) and inside the server's network namespace. */
    readonly running: boolean;
    readonly device?: "disk" | "pxe";
    readonly bootedAt?: string;
    /** Disk boot: PID 1 started every supervisord. */
    readonly ready: boolean;
    /** Disk boot: PID 1 refused to start services. */
    readonly failure?: string;
    /** PXE boot: the installer's exit code once it finished. */
    readonly installerExitCode?: number;
    readonly diskInstalled: boolean;
  };
  /** The site's record of the server, or why the site could not be read. */
  readonly site:
    | { readonly phase?: string; readonly enrolled: boolean; readonly lastReadyAt?: string }
    | { readonly error: string };
}

export type Action = "none" | "wait" | "power-on" | "restart" | "reinstall" | "unreachable";

export interface Decision {
  readonly action: Action;
  readonly why: string;
}

export interface Graces {
  /** A disk boot may take this long to report ready before it is restarted. @default 120000 */
  readonly bootMs?: number;
  /** A netboot install may take this long before it is started again. @default 300000 */
  readonly installMs?: number;
}

const since = (iso: string | undefined, now: number) =>
  iso === undefined ? Infinity : now - Date.parse(iso);

/** "none" only for a server read running from disk whose agent reported ready since this boot. */
export function decide(o: Observed, now: number, g: Graces = {}): Decision {
  if ("error" in o.bmc) return { action: "unreachable", why: `its BMC did not answer: ${o.bmc.error}` };
  if ("error" in o.site) return { action: "unreachable", why: `its site did not answer: ${o.site.error}` };
  const { power } = o.bmc;
  const s = o.server;
  const site = o.site;
  const installing = power === "on" && s.running && s.device === "pxe" && s.installerExitCode === undefined;
  if (!site.enrolled || site.phase === "armed" || site.phase === "netbooted" || !s.diskInstalled) {
    if (installing && since(s.bootedAt, now) < (g.installMs ?? 300_000))
      return { action: "wait", why: "its netboot install is running" };
    const what = !s.diskInstalled
      ? "its disk holds no installed system"
      : !site.enrolled
        ? "the site has no certificate for it"
        : `the site says ${site.phase}`;
    const failed =
      s.running && s.device === "pxe" && s.installerExitCode !== undefined
        ? ` (its netboot installer exited ${s.installerExitCode})`
        : "";
    return { action: "reinstall", why: `${what}${failed}` };
  }
  if (power === "off") return { action: "power-on", why: "its BMC reports power off" };
  if (!s.running) return { action: "restart", why: "its BMC reports power on but its PID 1 is not running" };
  if (s.device !== "disk")
    return {
      action: "restart",
      why: `it runs its netboot image (installer exit ${s.installerExitCode ?? "-"})`,
    };
  if (s.failure) return { action: "restart", why: `its PID 1 refused to start services: ${s.failure}` };
  const reported =
    site.lastReadyAt !== undefined &&
    s.bootedAt !== undefined &&
    Date.parse(site.lastReadyAt) >= Date.parse(s.bootedAt);
  if (s.ready && reported) return { action: "none", why: "runs from disk; its agent reported ready" };
  if (since(s.bootedAt, now) < (g.bootMs ?? 120_000))
    return { action: "wait", why: s.ready ? "waiting for its agent's ready report" : "booting" };
  return {
    action: "restart",
    why: `booted ${Math.round(since(s.bootedAt, now) / 1000)} s ago and its agent has not reported ready since`,
  };
}

/** One line of what was seen, for the message naming a server that did not converge. */
export function describe(o: Observed): string {
  const bmc = "error" in o.bmc ? `BMC error (${o.bmc.error})` : `BMC power ${o.bmc.power}`;
  const s = o.server;
  const server = s.running
    ? `PID 1 running from ${s.device}${s.ready ? ", services started" : ""}${s.failure ? `, failed: ${s.failure}` : ""}`
    : "PID 1 not running";
  const site =
    "error" in o.site
      ? `site error (${o.site.error})`
      : `site phase ${o.site.phase ?? "unknown"}, last ready report ${o.site.lastReadyAt ?? "never"}`;
  return `${bmc}; ${server}${s.installerExitCode !== undefined ? `, installer exit ${s.installerExitCode}` : ""}; disk ${s.diskInstalled ? "installed" : "empty"}; ${site}`;
}
