/**
 * Runs Lynis against an image the way it is done by hand (docs/hardening.md): the image unpacked
 * into a throwaway directory, `unshare --mount --pid --fork`, a fresh /proc, the host's Lynis
 * bind-mounted in (never installed into the image), `chroot`, `lynis audit system --quick`. The
 * served image is never touched; the copy is removed afterwards. Needs root and the host's `lynis`.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseLynisReport, renderLynisProfile, type LynisReport } from "../../lib/hardening/lynis";
import { unpackImage } from "./cache";
import { q, run } from "./exec";

/** The host's Lynis: program, include/db files, default profile. */
const HOST_LYNIS = { program: "/usr/sbin/lynis", share: "/usr/share/lynis", etc: "/etc/lynis" } as const;

export class LynisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LynisUnavailableError";
  }
}

export interface LynisRun {
  readonly report: LynisReport;
  /** The report file's text, for a reader who wants more than the parsed fields. */
  readonly raw: string;
  /** Lynis's log (`/var/log/lynis.log`): `pointsByTest` reads where the points go. */
  readonly log: string;
  readonly seconds: number;
}

export interface LynisOptions {
  /** Skip the tests the project judges not applicable (`renderLynisProfile`). @default true */
  readonly projectProfile?: boolean;
}

/** Audits the image archive at `imagePath` (a `.tar.zst` from lab/image). */
export async function auditImage(imagePath: string, opts: LynisOptions = {}): Promise<LynisRun> {
  for (const p of Object.values(HOST_LYNIS))
    if (!existsSync(p))
      throw new LynisUnavailableError(
        `${p} is missing: install Debian's lynis on the host (scripts/install-debian-deps.sh)`,
      );
  const started = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), "zr-lynis-"));
  try {
    const rootfs = join(tmp, "rootfs");
    await unpackImage(imagePath, rootfs);
    const profileArgs = opts.projectProfile === false ? "" : `--profile /run/zeroroot-lynis.prf`;
    if (profileArgs) {
      mkdirSync(join(rootfs, "run"), { recursive: true });
      writeFileSync(join(rootfs, "run/zeroroot-lynis.prf"), renderLynisProfile(), { mode: 0o600 });
    }
    // Mount points for the bind mounts exist only in this throwaway copy.
    mkdirSync(join(rootfs, HOST_LYNIS.share.slice(1)), { recursive: true });
    mkdirSync(join(rootfs, HOST_LYNIS.etc.slice(1)), { recursive: true });
    writeFileSync(join(rootfs, HOST_LYNIS.program.slice(1)), "");
    const r = q(rootfs);
    const script = [
      "set -e",
      `mount --bind ${HOST_LYNIS.share} ${r}${HOST_LYNIS.share}`,
      `mount --bind ${HOST_LYNIS.etc} ${r}${HOST_LYNIS.etc}`,
      `mount --bind ${HOST_LYNIS.program} ${r}${HOST_LYNIS.program}`,
      `mount -t proc -o nosuid,nodev,noexec proc ${r}/proc`,
      // env -i: the host's environment must not leak into the audited system
      `exec chroot ${r} /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LANG=C ` +
        `/bin/sh ${HOST_LYNIS.program} audit system --quick --no-colors ${profileArgs}`,
    ].join("\n");
    // The mounts live in the new mount namespace only and vanish with it, before the copy is removed.
    const unshare = ["unshare", "--mount", "--pid", "--fork", "--propagation", "private"];
    const out = await run([...unshare, "/bin/sh", "-c", script], {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" },
      allowFailure: true,
    });
    const reportPath = join(rootfs, "var/log/lynis-report.dat");
    if (!existsSync(reportPath))
      throw new LynisUnavailableError(
        `Lynis wrote no report (exit ${out.code}): ${(out.stderr || out.stdout).trim().split("\n").slice(-5).join(" / ")}`,
      );
    const raw = readFileSync(reportPath, "utf8");
    const logPath = join(rootfs, "var/log/lynis.log");
    const log = existsSync(logPath) ? readFileSync(logPath, "utf8") : "";
    return { report: parseLynisReport(raw), raw, log, seconds: (Date.now() - started) / 1000 };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
