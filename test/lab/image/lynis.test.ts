/**
 * Lynis (Debian's 3.0.8) against every image the build produces, run the way it is done by hand: the
 * image unpacked into a throwaway copy, a chroot in a private mount and PID namespace, the host's
 * Lynis bind-mounted in. Audited: the default spec, and the lab's image of every server role
 * (lib/hardening roles.ts: storage with its datastores, compute), which the lab's sites serve with
 * the agent bundle added. Each prints its index, so the figure per role is in the test output.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type HardenedImageSpec } from "../../../lib/hardening";
import {
  justifiedTestIds,
  LYNIS_MIN_INDEX,
  LYNIS_SKIPPED_TESTS,
  LYNIS_VERSION,
  pointsByTest,
  unjustifiedFindings,
  type LynisReport,
} from "../../../lib/hardening/lynis";
import { buildImage, REPO_ROOT } from "../../../lab/image";
import { auditImage, type LynisRun } from "../../../lab/image/lynis";
import { LAB_ROLES, labImageSpec } from "../../../lab/orchestrate/image-spec";
import { labSpec, requireRoot } from "./fixture";

const IMAGES: { name: string; spec: () => HardenedImageSpec }[] = [
  { name: "default image", spec: labSpec },
  ...LAB_ROLES.map((role) => ({
    name: `lab ${role} image (role packages, agent, partitions)`,
    spec: () => labImageSpec(role),
  })),
];

function print(title: string, report: LynisReport, log: string, seconds: number): void {
  const lost = pointsByTest(log)
    .filter((p) => p.earned < p.max)
    .map((p) => `${p.id} ${p.earned}/${p.max}`);
  const lines = [
    `      ${title}: hardening index ${report.hardeningIndex} (Lynis ${report.lynisVersion}, ${report.testsPerformed} tests, ${seconds.toFixed(0)} s)`,
    `        points short of the maximum: ${lost.join(", ") || "none"}`,
    ...report.warnings.map((f) => `        warning    ${f.id} ${f.text}`),
    ...report.suggestions.map(
      (f) => `        suggestion ${f.id} ${f.text}${f.details !== "-" ? ` [${f.details}]` : ""}`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

const log = (l: string) => process.stderr.write(`      [image] ${l}\n`);

/**
 * Lynis is one shell forking thousands of short programs: one run keeps a core busy for a minute and
 * a half. The audits all start at once, so the file takes about their CPU over the cores there are
 * (two in CI) instead of their sum; each test still judges its own run. The comparison under Lynis's
 * own default profile with a plain minbase is `npm run bench -- hardening`, not a CI cost.
 */
interface Audited {
  readonly specHash: string;
  readonly run: LynisRun;
}

async function buildAndAudit(spec: HardenedImageSpec): Promise<Audited> {
  const built = await buildImage(spec, { log });
  return { specHash: built.manifest.specHash, run: await auditImage(built.path) };
}

describe(`Lynis ${LYNIS_VERSION} audit of the hardened images`, function () {
  this.timeout(900_000);
  const justified = justifiedTestIds(readFileSync(join(REPO_ROOT, "docs/hardening.md"), "utf8"));

  const audits = new Map<string, Promise<Audited>>();
  before(() => {
    requireRoot();
    for (const i of IMAGES) {
      const audit = buildAndAudit(i.spec());
      // awaited by its own test later: handled here so that Node does not call a failure unhandled
      audit.catch(() => undefined);
      audits.set(i.name, audit);
    }
  });

  for (const image of IMAGES) {
    it(`${image.name}: index ≥ ${LYNIS_MIN_INDEX} under the project profile, every remaining finding justified in docs/hardening.md`, async () => {
      const { specHash, run } = await audits.get(image.name)!;
      const { report, log: lynisLog, seconds } = run;
      print(
        `${image.name} ${specHash.slice(0, 12)}, project profile (${LYNIS_SKIPPED_TESTS.length} tests skipped)`,
        report,
        lynisLog,
        seconds,
      );
      assert.equal(report.lynisVersion, LYNIS_VERSION);
      assert.ok(
        report.hardeningIndex >= LYNIS_MIN_INDEX,
        `hardening index ${report.hardeningIndex} < ${LYNIS_MIN_INDEX}`,
      );
      assert.deepEqual(
        unjustifiedFindings(report, justified).map((f) => `${f.id}: ${f.text}`),
        [],
        "a finding without a reason in docs/hardening.md: fix it in the image or justify it there",
      );
      assert.deepEqual(
        report.testsExecuted.filter((id) => LYNIS_SKIPPED_TESTS.includes(id)),
        [],
        "a skipped test still ran: the profile did not reach Lynis",
      );
    });
  }
});
