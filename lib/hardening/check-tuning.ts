/**
 * The part of `checkRootfs` about the Lynis-driven hardening: the rendered kernel, login, shell and
 * apt files are exactly what the spec renders, no compiler is on the machine, the packages the spec
 * keeps out are out, and cron/at files (if a package brought them) are closed to other users.
 */
import { existsSync, lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { COMPILER_EXECUTABLES } from "./forbidden";
import { HardenedImageSpec, IMAGE_PATHS } from "./spec";
import { deniedBy } from "./ssh-deny";
import { renderModprobe, renderSysctl } from "./tuning";

export type TuningCheckId = "tuning" | "compiler" | "unwanted-package" | "file-mode";
type Add = (id: TuningCheckId, message: string, path?: string) => void;

/** Where executables live: a compiler anywhere else is not on anyone's PATH. */
const EXEC_DIRS = ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"];

/** Every file the spec renders from its tuning, with its content. */
export function renderedTuningFiles(spec: HardenedImageSpec): [path: string, content: string][] {
  return [
    [IMAGE_PATHS.sysctl, renderSysctl(spec.sysctl)],
    [IMAGE_PATHS.modprobe, renderModprobe(spec.modprobeDisabled)],
    [IMAGE_PATHS.limits, spec.limits],
    [IMAGE_PATHS.shellProfile, spec.shellProfile],
    [IMAGE_PATHS.aptConf, spec.aptConf],
    ["/etc/issue", spec.banner],
    ["/etc/issue.net", spec.banner],
  ];
}

export function checkTuning(
  rootfs: string,
  spec: HardenedImageSpec,
  installed: ReadonlyMap<string, string>,
  executables: readonly string[],
  add: Add,
): void {
  for (const [path, content] of renderedTuningFiles(spec)) {
    const abs = join(rootfs, path);
    if (!existsSync(abs)) add("tuning", `${path} is missing`, path);
    else if (readFileSync(abs, "utf8") !== content) add("tuning", `${path} differs from the spec`, path);
  }
  for (const rel of executables) {
    if (!EXEC_DIRS.some((d) => rel.startsWith(`${d}/`))) continue;
    const hit = deniedBy(COMPILER_EXECUTABLES, rel.slice(rel.lastIndexOf("/") + 1));
    if (hit) add("compiler", `${rel} is ${hit.reason}: servers never build code`, rel);
  }
  for (const pkg of spec.unwantedPackages) {
    if (installed.has(pkg))
      add("unwanted-package", `package ${pkg} is installed; the spec keeps it out`, "/var/lib/dpkg/status");
  }
  for (const [path, mode] of Object.entries(spec.schedulerModes)) {
    const abs = join(rootfs, path);
    if (!existsSync(abs)) continue;
    const actual = lstatSync(abs).mode & 0o7777;
    if ((actual & ~mode) !== 0)
      add(
        "file-mode",
        `${path} has mode ${actual.toString(8)}; at most ${mode.toString(8)} (only root may see or change scheduled jobs)`,
        path,
      );
  }
}
