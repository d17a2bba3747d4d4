/**
 * Packages that must never be in a zeroroot image: everything of SSH (the one deny list in
 * ssh-deny.ts, shared with the `no-ssh` rule), other remote-login daemons and the inetd
 * super-servers that would spawn them (DESIGN.md invariant 1), and privilege-escalation tools
 * (invariant 2), and compilers: a server runs signed releases and never builds code, so a compiler
 * only serves whoever wants to build a tool on it. `*` matches any run of characters.
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
  ...[
    "gcc",
    "g++",
    "clang",
    "tcc",
    "gccgo",
    "gfortran",
    "rustc",
    "build-essential",
    "binutils",
    "binutils-*",
  ].map((pattern) => ({
    pattern,
    reason: "a compiler or assembler (servers run signed releases, never build code)",
  })),
];

/**
 * Compiler, assembler and linker executables, whoever installed them (versioned gcc packages such
 * as `gcc-12` are found here; their name is too close to minbase's `gcc-12-base` for a package glob).
 * Not `ld.so`, which is the dynamic loader.
 */
export const COMPILER_EXECUTABLES: readonly DeniedName[] = [
  ..."cc c89 c99 c++ gcc gcc-* g++ g++-* *-linux-gnu-gcc* *-linux-gnu-g++* clang clang-* clang++* tcc as *-linux-gnu-as ld ld.bfd ld.gold ld.lld *-linux-gnu-ld* rustc gccgo* gfortran*"
    .split(" ")
    .map((pattern) => ({ pattern, reason: "a compiler, assembler or linker" })),
];

/** Why a package is forbidden, or undefined when it is allowed. */
export function forbiddenReason(pkg: string): string | undefined {
  return deniedBy(FORBIDDEN_PACKAGES, packageBaseName(pkg))?.reason;
}
