/**
 * Packages that must never be in a zeroroot image: everything of SSH (the one deny list in
 * ssh-deny.ts, shared with the `no-ssh` rule), other remote-login daemons and the inetd
 * super-servers that would spawn them (DESIGN.md invariant 1), and privilege-escalation tools
 * (invariant 2). `*` matches any run of characters.
 */
import { SSH_DENIED_PACKAGES, deniedBy, packageBaseName, type DeniedName } from "./ssh-deny";

export type ForbiddenPackage = DeniedName;

export const FORBIDDEN_PACKAGES: readonly ForbiddenPackage[] = [
  ...SSH_DENIED_PACKAGES,
  { pattern: "*telnetd*", reason: "a telnet daemon (remote login)" },
  { pattern: "rsh-server", reason: "an rsh/rlogin daemon (remote root login)" },
  { pattern: "rsh-redone-server", reason: "an rsh/rlogin daemon (remote root login)" },
  { pattern: "*-inetd", reason: "an inetd super-server, which starts remote-login daemons" },
  { pattern: "xinetd", reason: "an inetd super-server, which starts remote-login daemons" },
  { pattern: "sudo", reason: "a privilege-escalation tool (zero root)" },
  { pattern: "doas", reason: "a privilege-escalation tool (zero root)" },
];

/** Why a package is forbidden, or undefined when it is allowed. */
export function forbiddenReason(pkg: string): string | undefined {
  return deniedBy(FORBIDDEN_PACKAGES, packageBaseName(pkg))?.reason;
}
