/**
 * The one SSH deny list (DESIGN.md invariant 1, "No SSH, ever"). The image build refuses these
 * packages and executables (forbidden.ts, check.ts) and the `no-ssh` rule of lib/rules flags them in
 * desired state and on live hosts, from this same list and this same matcher, so the two cannot
 * disagree.
 *
 * A "no SSH" platform denies daemons *and* clients: a server never opens an SSH session, so a client
 * would only serve an intruder (lateral movement, tunnels, exfiltration, `ssh-import-id` keys), and
 * most client packages ship a server part or are pulled in to reach one (mosh starts mosh-server
 * over SSH; dropbear-bin holds both dropbear and dbclient). Libraries (libssh-4, libssh2-1,
 * libssh-gcrypt-4) are allowed: they start no session by themselves and common tools link them
 * (libcurl4 depends on libssh2-1); without a client or server program nothing uses them for SSH.
 * Reasons in docs/hardening.md.
 */

export interface DeniedName {
  /** Glob: `*` matches any run of characters; everything else is literal. */
  readonly pattern: string;
  readonly reason: string;
}

/** Debian binary packages that must never be installed. */
export const SSH_DENIED_PACKAGES: readonly DeniedName[] = [
  { pattern: "openssh-*", reason: "the OpenSSH suite (server, sftp-server, client)" },
  { pattern: "ssh", reason: "the metapackage that installs openssh-server and openssh-client" },
  {
    pattern: "ssh-*",
    reason: "SSH tooling (askpass, import-id, audit...) that serves SSH logins or sessions",
  },
  { pattern: "task-ssh-server", reason: "the task that installs an SSH server" },
  { pattern: "*sshd*", reason: "an SSH daemon" },
  { pattern: "libssh-server*", reason: "the server part of libssh (an SSH daemon in a library)" },
  { pattern: "dropbear*", reason: "dropbear, an SSH daemon and client (dbclient)" },
  { pattern: "tinyssh*", reason: "tinysshd, an SSH daemon" },
  { pattern: "lsh-*", reason: "lsh, an SSH daemon and client" },
  { pattern: "mosh", reason: "mosh, a remote shell that starts mosh-server over SSH" },
  { pattern: "endlessh", reason: "an SSH tarpit: it listens on the SSH port" },
  { pattern: "sshesame", reason: "a fake SSH server: it listens on the SSH port" },
  { pattern: "autossh", reason: "an SSH client that keeps tunnels open" },
  { pattern: "sshpass", reason: "an SSH client wrapper that feeds passwords" },
  { pattern: "sshfs", reason: "a file system over an SSH client" },
  { pattern: "sshuttle", reason: "a VPN over an SSH client" },
  { pattern: "*pssh", reason: "a parallel SSH client (pssh, mussh, clusterssh)" },
  { pattern: "mussh", reason: "a parallel SSH client" },
  { pattern: "clusterssh", reason: "a parallel SSH client" },
  { pattern: "zssh", reason: "an SSH client with file transfer" },
];

/** Executables (base names) of SSH servers and clients, whoever installed them. */
export const SSH_DENIED_EXECUTABLES: readonly DeniedName[] = [
  { pattern: "*sshd*", reason: "an SSH daemon" },
  { pattern: "ssh", reason: "the SSH client" },
  { pattern: "scp", reason: "a copy over the SSH client" },
  { pattern: "sftp", reason: "the SFTP client" },
  { pattern: "sftp-server", reason: "the SFTP server" },
  { pattern: "dropbear*", reason: "the dropbear SSH daemon" },
  { pattern: "dbclient", reason: "dropbear's SSH client" },
  { pattern: "lshd", reason: "the lsh SSH daemon" },
  { pattern: "mosh-server", reason: "the mosh server" },
  { pattern: "mosh-client", reason: "the mosh client" },
];

const globCache = new Map<string, RegExp>();

/** Whether `name` matches the glob `pattern` (the one matcher of both the image and the rule). */
export function globMatches(pattern: string, name: string): boolean {
  let re = globCache.get(pattern);
  if (!re) {
    const escaped = pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
    re = new RegExp(`^${escaped.join(".*")}$`);
    globCache.set(pattern, re);
  }
  return re.test(name);
}

/** A package name as dpkg may print it (`Name:arch`, any case) → the Debian name. */
export const packageBaseName = (pkg: string): string => pkg.split(":")[0].trim().toLowerCase();

/** The first entry of `list` whose pattern matches `name` (a package or executable), if any. */
export function deniedBy(list: readonly DeniedName[], name: string): DeniedName | undefined {
  return list.find((d) => globMatches(d.pattern, name));
}
