/**
 * Kernel, login, shell, module and apt settings of the image, chosen from the Lynis audit of the
 * image (docs/hardening.md lists each finding and what was decided). PID 1 applies the sysctls at
 * boot, best effort: a key the kernel refuses (or a read-only /proc/sys, as in the lab, where the
 * kernel is the host's) is logged. On a real machine every key applies.
 */

/** /etc/sysctl.d/90-zeroroot.conf (Lynis KRNL-6000, KRNL-5820; CIS Debian 12 section 3). */
export const DEFAULT_SYSCTL: Readonly<Record<string, string>> = {
  "dev.tty.ldisc_autoload": "0",
  "fs.protected_fifos": "2",
  "fs.protected_hardlinks": "1",
  "fs.protected_regular": "2",
  "fs.protected_symlinks": "1",
  "fs.suid_dumpable": "0",
  // core dumps off at the kernel too: a dump of the agent would hold its private key
  "kernel.core_pattern": "|/bin/false",
  "kernel.core_uses_pid": "1",
  // a console Ctrl-Alt-Del signals PID 1 instead of rebooting at once
  "kernel.ctrl-alt-del": "0",
  "kernel.dmesg_restrict": "1",
  "kernel.kexec_load_disabled": "1",
  "kernel.kptr_restrict": "2",
  "kernel.perf_event_paranoid": "3",
  "kernel.randomize_va_space": "2",
  "kernel.sysrq": "0",
  "kernel.unprivileged_bpf_disabled": "1",
  // Debian's switch: no platform user needs a user namespace, a large kernel attack surface
  "kernel.unprivileged_userns_clone": "0",
  "kernel.yama.ptrace_scope": "2",
  "net.core.bpf_jit_harden": "2",
  "net.ipv4.conf.all.accept_redirects": "0",
  "net.ipv4.conf.all.accept_source_route": "0",
  "net.ipv4.conf.all.bootp_relay": "0",
  // a server is never a router (the data centers' fabric routes)
  "net.ipv4.conf.all.forwarding": "0",
  "net.ipv4.conf.all.log_martians": "1",
  "net.ipv4.conf.all.proxy_arp": "0",
  "net.ipv4.conf.all.rp_filter": "1",
  "net.ipv4.conf.all.secure_redirects": "0",
  "net.ipv4.conf.all.send_redirects": "0",
  "net.ipv4.conf.default.accept_redirects": "0",
  "net.ipv4.conf.default.accept_source_route": "0",
  "net.ipv4.conf.default.log_martians": "1",
  "net.ipv4.conf.default.rp_filter": "1",
  "net.ipv4.conf.default.secure_redirects": "0",
  "net.ipv4.conf.default.send_redirects": "0",
  "net.ipv4.icmp_echo_ignore_broadcasts": "1",
  "net.ipv4.icmp_ignore_bogus_error_responses": "1",
  "net.ipv4.tcp_syncookies": "1",
  "net.ipv4.tcp_timestamps": "1",
  "net.ipv6.conf.all.accept_redirects": "0",
  "net.ipv6.conf.all.accept_source_route": "0",
  "net.ipv6.conf.default.accept_redirects": "0",
  "net.ipv6.conf.default.accept_source_route": "0",
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

/**
 * Modules never loaded (Lynis NETW-3200, USB-1000, STRG-1846): protocols no platform service
 * speaks, removable and hot-plugged storage, filesystems no zeroroot disk uses.
 */
export const DEFAULT_MODPROBE_DISABLED: readonly string[] = [
  "cramfs",
  "dccp",
  "firewire-core",
  "firewire-ohci",
  "firewire-sbp2",
  "freevxfs",
  "hfs",
  "hfsplus",
  "jffs2",
  "rds",
  "sctp",
  "tipc",
  "uas",
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

/**
 * Rendered /etc/modprobe.d file. `install X /bin/true` replaces every load of X, by name, alias or as a
 * dependency, with a no-op: the module never enters the kernel and a socket() of its protocol fails
 * with EPROTONOSUPPORT. (`/bin/false` would also refuse it, but Lynis 3.0.8 recognises only the
 * `/bin/true` form, and an audit that can see the setting is worth more than a louder modprobe.)
 */
export function renderModprobe(modules: readonly string[]): string {
  return `# zeroroot hardened image: modules never loaded\n${modules.map((m) => `install ${m} /bin/true\nblacklist ${m}\n`).join("")}`;
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

/**
 * /etc/profile.d/zeroroot.sh, read by any login shell (there is none in normal operation; a console
 * shell for recovery is the case this covers): files private to their group, no core dumps, and an
 * idle shell closed after 10 minutes (Lynis AUTH-9328, KRNL-5820, SHLL-6220).
 */
export const SHELL_PROFILE =
  "# zeroroot hardened image\numask 027\nulimit -c 0\nTMOUT=600\nreadonly TMOUT\nexport TMOUT\n";

/**
 * /etc/apt/apt.conf.d/99zeroroot. Servers are reinstalled from a new image, not upgraded in place;
 * this covers whoever runs apt in the image anyway (a derived image build): signed repositories
 * only, no recommended packages pulled in silently.
 */
export const APT_CONF = [
  "// zeroroot hardened image",
  'Acquire::AllowInsecureRepositories "false";',
  'Acquire::AllowDowngradeToInsecureRepositories "false";',
  'APT::Get::AllowUnauthenticated "false";',
  'APT::Install-Recommends "false";',
  'APT::Install-Suggests "false";',
  "",
].join("\n");

/**
 * Modes of cron and at files when a package brings them (none of the base packages does): only root
 * reads or changes what runs as root on a schedule (Lynis FILE-7524, CIS 5.1).
 */
export const SCHEDULER_MODES: Readonly<Record<string, number>> = {
  "/etc/at.allow": 0o640,
  "/etc/at.deny": 0o640,
  "/etc/cron.allow": 0o640,
  "/etc/cron.d": 0o700,
  "/etc/cron.daily": 0o700,
  "/etc/cron.deny": 0o640,
  "/etc/cron.hourly": 0o700,
  "/etc/cron.monthly": 0o700,
  "/etc/cron.weekly": 0o700,
  "/etc/crontab": 0o600,
  "/var/spool/cron": 0o700,
};

/**
 * Packages Debian's minbase would bring that the image must not carry: `usrmerge` converts a
 * split-/usr system once and pulls in the full Perl interpreter and modules. The build merges /usr
 * itself (mmdebstrap's merged-usr hook installs the empty `usr-is-merged` instead).
 */
export const UNWANTED_PACKAGES: readonly string[] = ["perl", "usrmerge"];

/** Core dumps off for every account (Lynis KRNL-5820). */
export const LIMITS_CONF = "# zeroroot hardened image\n* hard core 0\n* soft core 0\n";

/** /etc/issue and /etc/issue.net (Lynis BANN-7126, BANN-7130 look for legal wording). */
export const BANNER =
  "Authorized access only. This system is monitored and activity is logged and recorded; unauthorized use is prohibited and subject to criminal and legal action. There is no interactive login on this machine.\n";
