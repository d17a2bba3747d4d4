import {
  SSH_DENIED_EXECUTABLES,
  SSH_DENIED_PACKAGES,
  globMatches,
  packageBaseName,
} from "../../hardening/ssh-deny";
import { UNKNOWN, finding, show, type Finding, type Maybe, type Rule } from "../types";
import type { HostView, ResourceTypeView } from "../views";

export interface NoSshConfig {
  /**
   * Package names (globs, `*` = any run of characters) of SSH servers and clients.
   * @default - the one SSH deny list of lib/hardening/ssh-deny.ts, which the image build also uses
   */
  readonly forbiddenPackages: readonly string[];
  /** Program/executable base names (globs) of SSH servers and clients. @default - the same list's */
  readonly forbiddenDaemons: readonly string[];
  /** Ports nothing may listen on or be allowed to. @default - [22] */
  readonly forbiddenPorts: readonly number[];
  /**
   * Pulumi resource types (globs) that reach a machine over SSH.
   * @default - ["command:remote:*"] (@pulumi/command's remote Command, CopyToRemote, CopyFile)
   */
  readonly forbiddenResourceTypes: readonly string[];
}

const meta = {
  name: "no-ssh",
  description:
    "Checks that no SSH server or client is installed (openssh-server, openssh-client, dropbear, tinysshd, mosh, …), enabled as a unit or run as a program, that port 22 is neither allowed by the firewall nor listened on, that remote root login is off, and that no resource reaches a machine over SSH (command:remote:*).",
  severity: "critical",
  remediation:
    "Remove the SSH package and unit from the image, drop port 22 from firewall.allowedTcpPorts and endpoints, set remoteRootLogin: false, replace command:remote resources by desired state the node agent applies; operate servers through the BMC, the control plane and the agent only.",
  invariant: "1. No SSH, ever",
  defaults: {
    forbiddenPackages: SSH_DENIED_PACKAGES.map((d) => d.pattern),
    forbiddenDaemons: SSH_DENIED_EXECUTABLES.map((d) => d.pattern),
    forbiddenPorts: [22],
    forbiddenResourceTypes: ["command:remote:*"],
  } as NoSshConfig,
  configSchema: {
    forbiddenPackages: { type: "array", items: { type: "string" } },
    forbiddenDaemons: { type: "array", items: { type: "string" } },
    forbiddenPorts: { type: "array", items: { type: "integer" } },
    forbiddenResourceTypes: { type: "array", items: { type: "string" } },
  },
} as const;

/** The pattern `name` matches, with the image build's matcher (ssh-deny.ts). */
function matches(name: string, patterns: readonly string[]): string | undefined {
  const n = packageBaseName(name); // dpkg prints "name:arch"
  return patterns.find((p) => globMatches(p, n));
}

/** Base names of the executables a command line starts (first word, and `sh -c` payloads roughly). */
function executables(command: string): string[] {
  return command
    .split(/[\s;&|]+/)
    .filter((w) => w.includes("/") || /^[A-Za-z][\w.-]*$/.test(w))
    .map((w) => w.split("/").pop() ?? w);
}

const known = <T>(xs: Maybe<readonly Maybe<T>[]> | undefined): T[] =>
  xs === undefined || xs === UNKNOWN ? [] : (xs.filter((x) => x !== UNKNOWN) as T[]);

export const noSsh: Rule<HostView | ResourceTypeView, NoSshConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(view, config) {
    if (view.source === "Resource") return remoteResource(view, config);
    const out: Finding[] = [];
    const f = (msg: string, path: string) => out.push(finding(meta, msg, view.ref, path));
    known(view.packages).forEach((pkg) => {
      const m = matches(pkg, config.forbiddenPackages);
      if (m)
        f(`package ${show(pkg)} is SSH software (matches ${show(m)}); remove it from packages`, "packages");
    });
    known(view.units).forEach((u) => {
      const base = u.replace(/\.(service|socket)$/, "").replace(/@$/, "");
      if (matches(base, [...config.forbiddenDaemons, "ssh"]))
        f(`unit ${show(u)} starts an SSH server; disable and remove it`, "units");
    });
    if (view.processes && view.processes !== UNKNOWN) {
      for (const p of view.processes) {
        const names = [
          ...(typeof p.name === "string" ? [p.name] : []),
          ...(typeof p.command === "string" ? executables(p.command) : []),
        ];
        const hit = names.find((n) => matches(n, config.forbiddenDaemons));
        if (hit) f(`${p.path} runs the SSH program ${show(hit)}; remove the program`, `${p.path}.command`);
      }
    }
    if (view.firewall && view.firewall !== UNKNOWN) {
      const fw = view.firewall;
      for (const [key, ports] of [
        ["allowedTcpPorts", fw.allowedTcpPorts],
        ["allowedUdpPorts", fw.allowedUdpPorts],
      ] as const) {
        for (const port of known(ports))
          if (config.forbiddenPorts.includes(port))
            f(`firewall.${key} allows port ${port}; remove it`, `firewall.${key}`);
      }
      if (fw.inputPolicy === "accept")
        f(
          `firewall.inputPolicy is "accept", which leaves port 22 open; required: "drop"`,
          "firewall.inputPolicy",
        );
    }
    if (view.listening && view.listening !== UNKNOWN) {
      for (const l of view.listening)
        if (typeof l.port === "number" && config.forbiddenPorts.includes(l.port))
          f(`${l.path} listens on port ${l.port}; nothing may listen on the SSH port`, `${l.path}.port`);
    }
    if (view.remoteRootLogin === true) f("remoteRootLogin is true; required: false", "remoteRootLogin");
    return out;
  },
};

/** A resource of any provider whose type reaches a machine over SSH (e.g. command:remote:Command). */
function remoteResource(view: ResourceTypeView, config: NoSshConfig): Finding[] {
  const m = config.forbiddenResourceTypes.find((p) => globMatches(p, view.type));
  if (!m) return [];
  return [
    finding(
      meta,
      `resource type ${show(view.type)} connects to a machine over SSH (matches ${show(m)}); remove the resource`,
      view.ref,
    ),
  ];
}
