import { UNKNOWN, finding, show, type Finding, type Rule } from "../types";
import type { HostView } from "../views";

export interface ZeroRootConfig {
  /** Account names that count as root besides uid 0. @default - ["root"] */
  readonly rootNames: readonly string[];
  /** Capabilities a platform program may keep. @default - none */
  readonly allowedCapabilities: readonly string[];
}

const meta = {
  name: "zero-root",
  description:
    "Checks that no program, agent, supervisord instance or service partition runs as root (uid 0 or a root account name), keeps Linux capabilities, or can gain privileges (no_new_privs unset); PID 1 of a live host is exempt.",
  severity: "critical",
  remediation:
    "Run the program as its own unprivileged user (uid >= 1000, one user per service instance) with capabilities [] and noNewPrivileges: true; start supervisord through setpriv as that user.",
  invariant: "2. Zero root",
  defaults: { rootNames: ["root"], allowedCapabilities: [] },
  configSchema: {
    rootNames: { type: "array", items: { type: "string" } },
    allowedCapabilities: { type: "array", items: { type: "string" } },
  },
} as const;

export const zeroRoot: Rule<HostView, ZeroRootConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(view, config) {
    const out: Finding[] = [];
    const f = (msg: string, path: string) => out.push(finding(meta, msg, view.ref, path));
    const isRootName = (u: unknown) => typeof u === "string" && config.rootNames.includes(u);
    if (view.accounts && view.accounts !== UNKNOWN) {
      for (const a of view.accounts) {
        if (a.uid === 0)
          f(`${a.path}: account ${show(a.user)} has uid 0; allowed: a non-zero uid`, `${a.path}.uid`);
        else if (isRootName(a.user))
          f(`${a.path}: account is ${show(a.user)}; allowed: an unprivileged user`, `${a.path}.user`);
      }
    }
    if (view.processes && view.processes !== UNKNOWN) {
      for (const p of view.processes) {
        if (p.pid === 1) continue; // the init; invariant 2 exempts it
        const who = `${p.path} (${show(p.name)})`;
        if (p.uid === 0) f(`${who} runs as uid 0; allowed: an unprivileged uid`, `${p.path}.uid`);
        else if (isRootName(p.user))
          f(`${who} runs as user ${show(p.user)}; allowed: an unprivileged user`, `${p.path}.user`);
        if (p.capabilities && p.capabilities !== UNKNOWN) {
          const extra = p.capabilities.filter(
            (c) => c !== UNKNOWN && !config.allowedCapabilities.includes(c),
          );
          if (extra.length > 0)
            f(
              `${who} keeps capabilities ${show(extra)}; allowed: ${show(config.allowedCapabilities)}`,
              `${p.path}.capabilities`,
            );
        }
        if (p.noNewPrivileges === false || p.noNewPrivileges === undefined)
          f(
            `${who} has noNewPrivileges ${show(p.noNewPrivileges)}; required: true`,
            `${p.path}.noNewPrivileges`,
          );
      }
    }
    return out;
  },
};
