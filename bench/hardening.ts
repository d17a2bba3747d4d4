/**
 * `npm run bench -- hardening` (root, Debian's lynis and mmdebstrap): Lynis's hardening index of the
 * lab's compute image next to a plain `mmdebstrap --variant=minbase` of the same suite built in the
 * same run (issue #14 measured 56 for it and 65 for the image before its hardening), both under
 * Lynis's own default profile (nothing skipped), then the image under the project profile (what the
 * lab tier's Lynis test holds at >= LYNIS_MIN_INDEX). Default-profile figures include KRNL-6000,
 * which in a chroot scores the host's kernel (docs/hardening.md), so they are printed with and
 * without it. The audits run one after another: each one's seconds are comparable.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LYNIS_MIN_INDEX, LYNIS_SKIPPED_TESTS, pointsByTest } from "../lib/hardening/lynis";
import { buildImage, hostMirrors, mirrorLine } from "../lab/image";
import { run as exec } from "../lab/image/exec";
import { auditImage, type LynisRun } from "../lab/image/lynis";
import { labImageSpec } from "../lab/orchestrate/image-spec";

/** Scores the kernel settings, which in a chroot are the host's (docs/hardening.md). */
const HOST_KERNEL_TEST = "KRNL-6000";

/** The index recomputed from lynis.log's points, leaving out `without` (KRNL-6000: the host's kernel). */
function indexOf(r: LynisRun, without?: string): number {
  const points = pointsByTest(r.log).filter((p) => p.id !== without);
  const earned = points.reduce((a, p) => a + p.earned, 0);
  const max = points.reduce((a, p) => a + p.max, 0);
  return Math.floor((earned / max) * 100);
}

function line(title: string, r: LynisRun): string {
  if (indexOf(r) !== r.report.hardeningIndex)
    throw new Error(
      `${title}: the log's points give ${indexOf(r)}, Lynis printed ${r.report.hardeningIndex}`,
    );
  return `  ${title.padEnd(46)} index ${String(r.report.hardeningIndex).padStart(3)}  (${indexOf(r, HOST_KERNEL_TEST)} without ${HOST_KERNEL_TEST}; ${r.report.testsPerformed} tests, ${r.report.suggestions.length} suggestions, ${r.seconds.toFixed(0)} s)`;
}

export async function run(): Promise<void> {
  const spec = labImageSpec("compute");
  const image = await buildImage(spec, { log: (m) => console.error(`  [image] ${m}`) });
  const tmp = mkdtempSync(join(tmpdir(), "zr-bench-hardening-"));
  try {
    const plainPath = join(tmp, "plain-minbase.tar.zst");
    const mirrors = hostMirrors(spec.suite).map(mirrorLine);
    await exec(["mmdebstrap", "--mode=root", "--variant=minbase", spec.suite, plainPath, ...mirrors]);
    const plain = await auditImage(plainPath, { projectProfile: false });
    const ours = await auditImage(image.path, { projectProfile: false });
    const project = await auditImage(image.path);
    const notRun = LYNIS_SKIPPED_TESTS.filter((id) => !ours.report.testsExecuted.includes(id));
    if (notRun.length > 0)
      throw new Error(
        `under the default profile the project's skipped tests must run; these did not: ${notRun.join(", ")}`,
      );
    console.log(`hardening: Lynis ${ours.report.lynisVersion}, ${spec.suite}, one run each`);
    console.log(line(`plain minbase (baseline), default profile`, plain));
    console.log(line(`lab compute image, default profile`, ours));
    console.log(
      `  ratio compute image / plain minbase (default profile, without ${HOST_KERNEL_TEST}): ${(indexOf(ours, HOST_KERNEL_TEST) / indexOf(plain, HOST_KERNEL_TEST)).toFixed(2)}x`,
    );
    console.log(
      `  lab compute image, project profile (${LYNIS_SKIPPED_TESTS.length} tests skipped): index ${project.report.hardeningIndex} (target >= ${LYNIS_MIN_INDEX})`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
