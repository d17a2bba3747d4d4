/**
 * Verifies an unpacked rootfs against its spec: what the image must never contain (SSH, remote
 * root, setuid binaries) and what it must (locked root, the platform users, the default-deny
 * firewall, PID 1). Reads files only; returns findings, never throws for a non-compliant image.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { checkTuning, type TuningCheckId } from "./check-tuning";
import { forbiddenReason } from "./forbidden";
import { SSH_DENIED_EXECUTABLES, deniedBy } from "./ssh-deny";
import { renderNftablesRuleset, renderSupervisordConf } from "./render";
import { HardenedImageSpec, IMAGE_PATHS, supervisorDir } from "./spec";
import { parseLoginDefs } from "./tuning";

export type CheckId =
  | "forbidden-package"
  | "missing-package"
  | "remote-login-executable"
  | "ssh-config"
  | "root-not-locked"
  | "root-shell"
  | "extra-uid-0"
  | "empty-password"
  | "platform-user"
  | "firewall"
  | "setuid"
  | "supervisord-config"
  | "init"
  | "login-defs"
  | "removed-path"
  | "private-key"
  | TuningCheckId;

export interface Finding {
  readonly id: CheckId;
  readonly message: string;
  /** Path inside the rootfs the finding is about. */
  readonly path?: string;
}

/** Installed packages according to dpkg's status file (`install ok installed` only). */
export function installedPackages(rootfs: string): Map<string, string> {
  const out = new Map<string, string>();
  const text = readFileSync(join(rootfs, "var/lib/dpkg/status"), "utf8");
  for (const stanza of text.split(/\n\n+/)) {
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(stanza)?.[1];
    const pkg = field("Package");
    if (pkg && field("Status") === "install ok installed") out.set(pkg, field("Version") ?? "");
  }
  return out;
}

interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

function readAccounts(rootfs: string): Account[] {
  return readFileSync(join(rootfs, "etc/passwd"), "utf8")
    .split("\n")
    .filter((l) => l.includes(":"))
    .map((l) => l.split(":"))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] }));
}

function readShadow(rootfs: string): Map<string, string> {
  return new Map(
    readFileSync(join(rootfs, "etc/shadow"), "utf8")
      .split("\n")
      .filter((l) => l.includes(":"))
      .map((l) => l.split(":"))
      .map((f) => [f[0], f[1]] as [string, string]),
  );
}

const isLocked = (hash: string | undefined) => hash !== undefined && (hash.startsWith("!") || hash === "*");
const NOLOGIN = new Set(["/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"]);

/** Every file under the given rootfs directories (symlinks not followed). */
function* walk(rootfs: string, rel: string): Generator<string> {
  const abs = join(rootfs, rel);
  let entries: string[];
  try {
    entries = readdirSync(abs);
  } catch {
    return;
  }
  for (const e of entries) {
    const r = `${rel}/${e}`;
    const st = lstatSync(join(rootfs, r));
    if (st.isDirectory()) yield* walk(rootfs, r);
    else yield r;
  }
}

/** Remote-login and escalation programs besides SSH's, which come from the one SSH deny list. */
const OTHER_REMOTE_LOGIN_NAME = /^((in\.)?telnetd|(in\.)?rshd|(in\.)?rlogind|x?inetd|sudo|doas)$/;
const isRemoteLoginName = (base: string) =>
  deniedBy(SSH_DENIED_EXECUTABLES, base) !== undefined || OTHER_REMOTE_LOGIN_NAME.test(base);
const BIN_DIRS = [
  "/usr/bin",
  "/usr/sbin",
  "/usr/local/bin",
  "/usr/local/sbin",
  "/usr/lib",
  "/usr/libexec",
  "/opt",
];

export function checkRootfs(rootfs: string, spec: HardenedImageSpec): Finding[] {
  const findings: Finding[] = [];
  const add = (id: CheckId, message: string, path?: string) => findings.push({ id, message, path });

  const installed = installedPackages(rootfs);
  for (const [pkg] of installed) {
    const reason = forbiddenReason(pkg);
    if (reason) add("forbidden-package", `package ${pkg} is installed: ${reason}`, "/var/lib/dpkg/status");
  }
  for (const pkg of spec.packages) {
    if (!installed.has(pkg))
      add("missing-package", `package ${pkg} of the spec is not installed`, "/var/lib/dpkg/status");
  }

  const executables: string[] = [];
  for (const dir of BIN_DIRS) {
    for (const rel of walk(rootfs, dir)) {
      executables.push(rel);
      const base = rel.slice(rel.lastIndexOf("/") + 1);
      if (isRemoteLoginName(base))
        add("remote-login-executable", `${rel} looks like a remote-login or escalation program`, rel);
      const st = lstatSync(join(rootfs, rel));
      if (spec.stripSetuid && st.isFile() && (st.mode & 0o6000) !== 0)
        add("setuid", `${rel} has the setuid/setgid bit (mode ${(st.mode & 0o7777).toString(8)})`, rel);
    }
  }
  for (const p of [
    "/etc/ssh/sshd_config",
    "/etc/ssh/sshd_config.d",
    "/etc/dropbear",
    "/etc/inetd.conf",
    "/etc/xinetd.d",
    "/etc/hosts.equiv",
    "/root/.rhosts",
    "/root/.ssh",
  ]) {
    if (existsSync(join(rootfs, p)))
      add("ssh-config", `${p} exists: remote-login configuration has no place in the image`, p);
  }

  const accounts = readAccounts(rootfs);
  const shadow = readShadow(rootfs);
  const root = accounts.find((a) => a.name === "root");
  if (!isLocked(shadow.get("root")))
    add(
      "root-not-locked",
      "root's password field in /etc/shadow is not locked (expected `!` or `*`)",
      "/etc/shadow",
    );
  if (root && !NOLOGIN.has(root.shell))
    add(
      "root-shell",
      `root's shell is ${root.shell}; expected /usr/sbin/nologin (no interactive root login)`,
      "/etc/passwd",
    );
  for (const a of accounts) {
    if (a.uid === 0 && a.name !== "root") add("extra-uid-0", `account ${a.name} has uid 0`, "/etc/passwd");
    if (shadow.get(a.name) === "")
      add("empty-password", `account ${a.name} has an empty password (logs in without one)`, "/etc/shadow");
  }
  for (const u of spec.users) {
    const a = accounts.find((x) => x.name === u.name);
    if (!a) {
      add("platform-user", `platform user ${u.name} is missing`, "/etc/passwd");
      continue;
    }
    if (a.uid !== u.uid || a.gid !== u.uid)
      add(
        "platform-user",
        `platform user ${u.name} has uid/gid ${a.uid}/${a.gid}; the spec says ${u.uid}/${u.uid}`,
        "/etc/passwd",
      );
    if (a.home !== u.home)
      add(
        "platform-user",
        `platform user ${u.name} has home ${a.home}; the spec says ${u.home}`,
        "/etc/passwd",
      );
    if (!NOLOGIN.has(a.shell))
      add(
        "platform-user",
        `platform user ${u.name} has shell ${a.shell}; expected /usr/sbin/nologin`,
        "/etc/passwd",
      );
    if (!isLocked(shadow.get(u.name)))
      add("platform-user", `platform user ${u.name} has a usable password`, "/etc/shadow");
    checkSupervisord(rootfs, u, add);
  }

  checkFirewall(rootfs, spec, add);
  for (const f of spec.files) {
    const abs = join(rootfs, f.path);
    if (!existsSync(abs)) add("init", `${f.path} (from ${f.source}) is missing`, f.path);
    else if (createHash("sha256").update(readFileSync(abs)).digest("hex") !== f.sha256)
      add("init", `${f.path} differs from the spec's digest`, f.path);
  }
  const defs = existsSync(join(rootfs, "etc/login.defs"))
    ? parseLoginDefs(readFileSync(join(rootfs, "etc/login.defs"), "utf8"))
    : {};
  for (const [k, v] of Object.entries(spec.loginDefs)) {
    if (defs[k] !== v)
      add(
        "login-defs",
        `/etc/login.defs ${k} is ${defs[k] ?? "unset"}; the spec says ${v}`,
        "/etc/login.defs",
      );
  }
  checkTuning(rootfs, spec, installed, executables, add);
  checkNoSharedKeys(rootfs, spec, add);
  return findings;
}

function checkSupervisord(
  rootfs: string,
  u: HardenedImageSpec["users"][number],
  add: (id: CheckId, m: string, p?: string) => void,
) {
  const conf = `${supervisorDir(u)}/supervisord.conf`;
  const abs = join(rootfs, conf);
  if (!existsSync(abs)) return add("supervisord-config", `${conf} is missing`, conf);
  if (readFileSync(abs, "utf8") !== renderSupervisordConf(u))
    add("supervisord-config", `${conf} differs from the spec`, conf);
  const st = statSync(join(rootfs, supervisorDir(u)));
  if (st.uid !== u.uid)
    add(
      "supervisord-config",
      `${supervisorDir(u)} is owned by uid ${st.uid}, not ${u.name} (${u.uid})`,
      supervisorDir(u),
    );
}

function checkFirewall(
  rootfs: string,
  spec: HardenedImageSpec,
  add: (id: CheckId, m: string, p?: string) => void,
) {
  const p = IMAGE_PATHS.nftables;
  const abs = join(rootfs, p);
  if (!existsSync(abs)) return add("firewall", `${p} is missing: PID 1 would have no firewall to apply`, p);
  const text = readFileSync(abs, "utf8");
  const input = /chain input \{([^}]*)\}/.exec(text)?.[1] ?? "";
  if (!/policy drop;/.test(input)) add("firewall", `${p}: the input chain's policy is not drop`, p);
  if (/dport\s+(\{[^}]*\b22\b[^}]*\}|22\b)|\bssh\b/.test(text))
    add("firewall", `${p} mentions port 22 / ssh`, p);
  if (text !== renderNftablesRuleset(spec.firewall))
    add("firewall", `${p} differs from the ruleset rendered from the spec`, p);
}

/**
 * An image is copied to every server of its role: a private key in it is one key for all of them
 * (ssl-cert's snakeoil key is made by its maintainer script at build time). Keys are made on the
 * node; the directory Debian keeps them in must be empty, and the spec's removed paths absent.
 */
function checkNoSharedKeys(
  rootfs: string,
  spec: HardenedImageSpec,
  add: (id: CheckId, m: string, p?: string) => void,
) {
  for (const p of spec.removedPaths)
    if (existsSync(join(rootfs, p)))
      add("removed-path", `${p} exists; the spec removes it (Debian's default instance or key)`, p);
  const dir = "/etc/ssl/private";
  if (!existsSync(join(rootfs, dir))) return;
  for (const e of readdirSync(join(rootfs, dir)))
    add("private-key", `${dir}/${e} is in the image: every server would share this key`, `${dir}/${e}`);
}
