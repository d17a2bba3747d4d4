/**
 * Packages that must never be in a zeroroot image: remote-login daemons (DESIGN.md invariant 1),
 * the SSH client (no reason to be on a server, and a ready tunnel for lateral movement), inetd
 * super-servers that would spawn such daemons, and privilege-escalation tools (invariant 2).
 * `*` matches any run of characters.
 */
export interface ForbiddenPackage {
  readonly pattern: string;
  readonly reason: string;
}

export const FORBIDDEN_PACKAGES: readonly ForbiddenPackage[] = [
  { pattern: "openssh-server", reason: "an SSH daemon (no SSH, ever)" },
  { pattern: "openssh-client", reason: "the SSH client: servers never open SSH sessions" },
  { pattern: "openssh-sftp-server", reason: "part of an SSH server" },
  { pattern: "ssh", reason: "the metapackage that installs openssh-server" },
  { pattern: "*sshd*", reason: "an SSH daemon" },
  { pattern: "dropbear*", reason: "an SSH daemon (dropbear)" },
  { pattern: "tinyssh*", reason: "an SSH daemon (tinyssh)" },
  { pattern: "lsh-server", reason: "an SSH daemon (lsh)" },
  { pattern: "*telnetd*", reason: "a telnet daemon (remote login)" },
  { pattern: "rsh-server", reason: "an rsh/rlogin daemon (remote root login)" },
  { pattern: "rsh-redone-server", reason: "an rsh/rlogin daemon (remote root login)" },
  { pattern: "*-inetd", reason: "an inetd super-server, which starts remote-login daemons" },
  { pattern: "xinetd", reason: "an inetd super-server, which starts remote-login daemons" },
  { pattern: "sudo", reason: "a privilege-escalation tool (zero root)" },
  { pattern: "doas", reason: "a privilege-escalation tool (zero root)" },
];

function matches(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split("*").map(escape).join(".*")}$`);
  return re.test(name);
}
const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");

/** Why a package is forbidden, or undefined when it is allowed. */
export function forbiddenReason(pkg: string): string | undefined {
  return FORBIDDEN_PACKAGES.find((f) => matches(f.pattern, pkg))?.reason;
}
