/**
 * Kernel, login and module settings of the image, chosen from the Lynis audit of a plain minbase
 * rootfs (docs/hardening.md lists each finding and what was decided). PID 1 applies the sysctls at
 * boot, best effort: a key the kernel refuses (or a read-only /proc/sys, as in the lab) is logged.
 */

/** /etc/sysctl.d/90-zeroroot.conf (Lynis KRNL-6000). */
export const DEFAULT_SYSCTL: Readonly<Record<string, string>> = {
  "fs.protected_fifos": "2",
  "fs.protected_hardlinks": "1",
  "fs.protected_regular": "2",
  "fs.protected_symlinks": "1",
  "fs.suid_dumpable": "0",
  "kernel.core_uses_pid": "1",
  "kernel.dmesg_restrict": "1",
  "kernel.kptr_restrict": "2",
  "kernel.sysrq": "0",
  "kernel.unprivileged_bpf_disabled": "1",
  "kernel.yama.ptrace_scope": "2",
  "net.core.bpf_jit_harden": "2",
  "net.ipv4.conf.all.accept_redirects": "0",
  "net.ipv4.conf.all.accept_source_route": "0",
  "net.ipv4.conf.all.log_martians": "1",
  "net.ipv4.conf.all.rp_filter": "1",
  "net.ipv4.conf.all.send_redirects": "0",
  "net.ipv4.conf.default.accept_redirects": "0",
  "net.ipv4.conf.default.accept_source_route": "0",
  "net.ipv4.conf.default.log_martians": "1",
  "net.ipv4.icmp_echo_ignore_broadcasts": "1",
  "net.ipv4.tcp_syncookies": "1",
  "net.ipv6.conf.all.accept_redirects": "0",
  "net.ipv6.conf.default.accept_redirects": "0",
};

/**
 * /etc/login.defs values (Lynis AUTH-9230, AUTH-9286, AUTH-9328). No account of a zeroroot image
 * has a password (invariant 3), so ageing only matters if one is ever set by mistake; the umask
 * matters for every file a platform user creates.
 */
export const DEFAULT_LOGIN_DEFS: Readonly<Record<string, string>> = {
  ENCRYPT_METHOD: "YESCRYPT",
  PASS_MAX_DAYS: "90",
  PASS_MIN_DAYS: "1",
  PASS_WARN_AGE: "14",
  SHA_CRYPT_MIN_ROUNDS: "65536",
  SHA_CRYPT_MAX_ROUNDS: "65536",
  UMASK: "027",
};

/** Modules never loaded (Lynis NETW-3200, USB-1000, STRG-1846): rare protocols and removable storage. */
export const DEFAULT_MODPROBE_DISABLED: readonly string[] = [
  "cramfs",
  "dccp",
  "firewire-core",
  "freevxfs",
  "hfs",
  "hfsplus",
  "jffs2",
  "rds",
  "sctp",
  "tipc",
  "udf",
  "usb-storage",
];

/** Rendered /etc/sysctl.d file. */
export function renderSysctl(sysctl: Readonly<Record<string, string>>): string {
  return `# zeroroot hardened image: applied by PID 1 at boot\n${Object.keys(sysctl)
    .sort()
    .map((k) => `${k} = ${sysctl[k]}\n`)
    .join("")}`;
}

/** Rendered /etc/modprobe.d file: `install X /bin/false` also refuses loading as a dependency. */
export function renderModprobe(modules: readonly string[]): string {
  return `# zeroroot hardened image: modules never loaded\n${modules.map((m) => `install ${m} /bin/false\nblacklist ${m}\n`).join("")}`;
}

/** Rewrites /etc/login.defs: replaces the settings it has (uncommented), appends those it lacks. */
export function applyLoginDefs(original: string, values: Readonly<Record<string, string>>): string {
  const seen = new Set<string>();
  const lines = original.split("\n").map((line) => {
    const m = /^\s*([A-Z_]+)\s+\S+/.exec(line);
    if (!m || values[m[1]] === undefined) return line;
    if (seen.has(m[1])) return `# ${line}`;
    seen.add(m[1]);
    return `${m[1]}\t\t${values[m[1]]}`;
  });
  const missing = Object.keys(values).filter((k) => !seen.has(k));
  const body = lines.join("\n").replace(/\n*$/, "\n");
  return missing.length === 0
    ? body
    : `${body}# zeroroot hardened image\n${missing.map((k) => `${k}\t\t${values[k]}\n`).join("")}`;
}

/** Reads the effective values (uncommented lines) of a login.defs file. */
export function parseLoginDefs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Z_]+)\s+(\S+)/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Core dumps off for every account (Lynis KRNL-5820). */
export const LIMITS_CONF = "# zeroroot hardened image\n* hard core 0\n* soft core 0\n";

/** /etc/issue and /etc/issue.net (Lynis BANN-7126, BANN-7130 look for legal wording). */
export const BANNER =
  "Authorized access only. This system is monitored and activity is logged and recorded; unauthorized use is prohibited and subject to criminal and legal action. There is no interactive login on this machine.\n";
