import { UNKNOWN, finding, show, type Finding, type Maybe, type Rule } from "../types";
import type { HostView } from "../views";

export interface NoSshConfig {
  /** Package names (exact, or glob with a trailing `*`) of SSH servers. */
  readonly forbiddenPackages: readonly string[];
  /** Program/executable base names of SSH daemons. */
  readonly forbiddenDaemons: readonly string[];
  /** Ports nothing may listen on or be allowed to. @default - [22] */
  readonly forbiddenPorts: readonly number[];
}

const meta = {
  name: "no-ssh",
  description:
    "Checks that no SSH server is installed (openssh-server, dropbear, tinysshd, …), enabled as a unit or run as a program, that port 22 is neither allowed by the firewall nor listened on, and that remote root login is off.",
  severity: "critical",
  remediation:
    "Remove the SSH server package and unit from the image, drop port 22 from firewall.allowedTcpPorts and endpoints, set remoteRootLogin: false; operate servers through the BMC, the control plane and the agent only.",
  invariant: "1. No SSH, ever",
  defaults: {
    forbiddenPackages: [
      "openssh-server",
      "openssh-sftp-server",
      "ssh",
      "dropbear",
      "dropbear-*",
      "tinysshd",
      "lsh-server",
      "libssh-server*",
      "mosh",
    ],
    forbiddenDaemons: ["sshd", "dropbear", "tinysshd", "lshd", "mosh-server"],
    forbiddenPorts: [22],
  },
  configSchema: {
    forbiddenPackages: { type: "array", items: { type: "string" } },
    forbiddenDaemons: { type: "array", items: { type: "string" } },
    forbiddenPorts: { type: "array", items: { type: "integer" } },
  },
} as const;

function matches(name: string, patterns: readonly string[]): string | undefined {
  const n = name.split(":")[0].trim().toLowerCase(); // dpkg "name:arch"
  return patterns.find((p) => (p.endsWith("*") ? n.startsWith(p.slice(0, -1)) : n === p));
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

export const noSsh: Rule<HostView, NoSshConfig> = {
  ...meta,
  defaults: meta.defaults,
  check(view, config) {
    const out: Finding[] = [];
    const f = (msg: string, path: string) => out.push(finding(meta, msg, view.ref, path));
    known(view.packages).forEach((pkg) => {
      const m = matches(pkg, config.forbiddenPackages);
      if (m)
        f(`package ${show(pkg)} is an SSH server (matches ${show(m)}); remove it from packages`, "packages");
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
        if (hit) f(`${p.path} runs the SSH daemon ${show(hit)}; remove the program`, `${p.path}.command`);
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
