/**
 * Applies a hardened image spec to a freshly bootstrapped rootfs (as root on the host): users, locked
 * root, firewall, tuning (kernel, login, shell, apt, cron/at modes), supervisord configs, PID 1's
 * configuration, shipped files, setuid stripped.
 */
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { AGENT_USER, HardenedImageSpec, IMAGE_PATHS, specHash, supervisorDir } from "../../lib/hardening";
import { PARTITION_DIR_MODES } from "../../lib/hardening/partitions";
import { renderedTuningFiles } from "../../lib/hardening/check-tuning";
import { applyLoginDefs } from "../../lib/hardening/tuning";
import { renderInitConfig, renderNftablesRuleset, renderSupervisordConf } from "../../lib/hardening/render";
import { run } from "./exec";

const write = (rootfs: string, path: string, content: string, mode: number, uid = 0) => {
  const abs = join(rootfs, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  chmodSync(abs, mode);
  chownSync(abs, uid, uid);
};

/** Applies the spec to a freshly bootstrapped rootfs (as root on the host). */
export async function applySpec(rootfs: string, spec: HardenedImageSpec, repoRoot: string): Promise<void> {
  const chroot = (...argv: string[]) =>
    run(["chroot", rootfs, ...argv], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" } });
  await chroot("passwd", "--lock", "root");
  await chroot("usermod", "--shell", "/usr/sbin/nologin", "root");
  for (const u of spec.users) await addServiceUser(rootfs, u, chroot);
  await openPartitionsToAgent(rootfs, spec, chroot);
  write(rootfs, IMAGE_PATHS.nftables, renderNftablesRuleset(spec.firewall), 0o600);
  // sysctl, modprobe, limits, shell profile, apt, banners: the same list checkRootfs compares
  for (const [path, content] of renderedTuningFiles(spec)) write(rootfs, path, content, 0o644);
  for (const [path, mode] of Object.entries(spec.schedulerModes))
    if (existsSync(join(rootfs, path))) chmodSync(join(rootfs, path), mode);
  write(rootfs, IMAGE_PATHS.initConfig, JSON.stringify(renderInitConfig(spec), null, 2) + "\n", 0o644);
  write(
    rootfs,
    IMAGE_PATHS.specFile,
    JSON.stringify({ specHash: specHash(spec), spec }, null, 2) + "\n",
    0o644,
  );
  write(
    rootfs,
    "/etc/login.defs",
    applyLoginDefs(readFileSync(join(rootfs, "etc/login.defs"), "utf8"), spec.loginDefs),
    0o644,
  );
  // The host's identity must not leak into the image: the installer and the site set these.
  write(rootfs, "/etc/hostname", "localhost\n", 0o644);
  write(rootfs, "/etc/resolv.conf", "# written by the installer from the site's configuration\n", 0o644);
  write(rootfs, "/etc/machine-id", "", 0o444);
  for (const f of spec.files) {
    const abs = join(rootfs, f.path);
    mkdirSync(dirname(abs), { recursive: true });
    copyFileSync(join(repoRoot, f.source), abs);
    chmodSync(abs, f.mode);
    chownSync(abs, 0, 0);
  }
  // Debian's default clusters/databases and the snakeoil key: built once, shared by every server.
  for (const path of spec.removedPaths) rmSync(join(rootfs, path), { recursive: true, force: true });
  if (spec.stripSetuid) stripSetuid(rootfs, "");
  rmSync(join(rootfs, "var/cache/apt"), { recursive: true, force: true });
  mkdirSync(join(rootfs, "var/cache/apt/archives/partial"), { recursive: true });
}

/** A service account: locked, no shell, its home and supervisord directories owned by it. */
async function addServiceUser(
  rootfs: string,
  u: HardenedImageSpec["users"][number],
  chroot: (...argv: string[]) => Promise<unknown>,
): Promise<void> {
  await chroot("groupadd", "--gid", String(u.uid), u.name);
  await chroot(
    "useradd",
    "--uid",
    String(u.uid),
    "--gid",
    String(u.uid),
    "--home-dir",
    u.home,
    "--no-create-home",
    "--shell",
    "/usr/sbin/nologin",
    u.name,
  );
  for (const [dir, mode] of [
    [u.home, 0o750],
    [supervisorDir(u), 0o700],
    [`${supervisorDir(u)}/log`, 0o700],
    [`${supervisorDir(u)}/conf.d`, 0o700],
  ] as const) {
    mkdirSync(join(rootfs, dir), { recursive: true });
    chmodSync(join(rootfs, dir), mode);
    chownSync(join(rootfs, dir), u.uid, u.uid);
  }
  write(rootfs, `${supervisorDir(u)}/supervisord.conf`, renderSupervisordConf(u), 0o600, u.uid);
}

/**
 * Partitions (lib/hardening/partitions.ts): zr-agent joins each partition's group, and the
 * partition's supervisord directory, conf.d and instance directory take the group modes the agent
 * needs to render programs and reach the socket — and nothing of the other partitions.
 */
async function openPartitionsToAgent(
  rootfs: string,
  spec: HardenedImageSpec,
  chroot: (...argv: string[]) => Promise<unknown>,
): Promise<void> {
  const partitions = spec.users.filter((u) => (u as { partition?: boolean }).partition);
  if (partitions.length === 0) return;
  await chroot("usermod", "--append", "--groups", partitions.map((u) => u.name).join(","), AGENT_USER.name);
  for (const u of partitions) {
    for (const { rel, mode } of PARTITION_DIR_MODES) {
      const abs = join(rootfs, u.home, rel);
      mkdirSync(abs, { recursive: true });
      chownSync(abs, u.uid, u.uid);
      chmodSync(abs, mode);
    }
  }
}

function stripSetuid(rootfs: string, rel: string): void {
  for (const e of readdirSync(join(rootfs, rel))) {
    const r = `${rel}/${e}`;
    if (r === "/proc" || r === "/sys" || r === "/dev") continue;
    const st = lstatSync(join(rootfs, r));
    if (st.isDirectory()) stripSetuid(rootfs, r);
    else if (st.isFile() && (st.mode & 0o6000) !== 0) chmodSync(join(rootfs, r), st.mode & 0o1777);
  }
}
