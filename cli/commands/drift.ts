/**
 * `zeroroot drift`: what the stacks want (evaluated as `policy check` evaluates them) against what
 * is really there (lib/drift/observe: BMCs, agents' reports, probes), judged by lib/drift. Exit 0 no
 * drift, 2 drift found, 1 the fleet could not be judged (bad config, unreadable input, observers
 * missing). `zeroroot drift schedule --render` prints the systemd service and timer.
 */
import type { Command } from "commander";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { ConfigValidationError, formatIssues, readStackFile } from "../../lib/fleet";
import type { DesiredServer } from "../../lib/drift/desired";
import type { ObservedServer } from "../../lib/drift/observed";
import { UserError } from "../errors";
import { loadModule } from "../lazy";
import { fail, writeAtomic } from "./drift-io";
import { registerSchedule } from "./drift-schedule";
import { evaluateStacks, select } from "./policy";

interface DriftOptions {
  stack?: string;
  all?: boolean;
  dir?: string;
  format: string;
  out?: string;
  html?: string;
  since?: string;
  remediate?: boolean;
  history?: string | false;
  observed?: string;
  cert?: string;
  key?: string;
  ca?: string;
  probes: boolean;
  bmc: boolean;
  releases?: string;
  state?: string;
  bmcNetns?: string;
}

const FORMATS = ["text", "json", "sarif", "html"];

export function register(program: Command): void {
  const drift = program
    .command("drift")
    .description(
      "Compare what the stacks want with what the BMCs, agents' reports and probes show. Exit 0 no drift, 2 drift, 1 error.",
    )
    .option("--stack <name>", "one data-center stack (stacks/Pulumi.<name>.yaml)")
    .option("--all", "every stack of the project")
    .option("--dir <path>", "the stack config directory (default: stackConfigDir of the nearest Pulumi.yaml)")
    .option(
      "--releases <dir>",
      "the signed releases the stacks name (default: releases/ of this checkout) [env ZEROROOT_RELEASES_DIR]",
    )
    .option(
      "--state <dir>",
      "each stack's deployment state as <stack>.json (`pulumi stack export`): the managed BMC logins [env ZEROROOT_DRIFT_STATE_DIR]",
    )
    .option("--format <format>", "text, json, sarif or html", "text")
    .option("--out <file>", "write the report there instead of standard output")
    .option("--html <file>", "also write the HTML report there (the scheduled run keeps both)")
    .option("--since <when>", "history shown from this point: 7d, 24h, 90m or an ISO date")
    .option(
      "--remediate",
      "fix what the platform can fix safely; escalate (and fence, if the stack says so) the rest",
    )
    .option("--history <dir>", "where runs are kept (default: .zeroroot/drift/history of the project)")
    .option("--no-history", "neither read nor store the history of runs")
    .option("--observed <file>", 'judge observations saved as JSON ({"servers": [...]}) instead of observing')
    .option(
      "--cert <file>",
      "operator certificate chain (PEM) for the control plane [env ZEROROOT_OPERATOR_CERT]",
    )
    .option("--key <file>", "its private key (PKCS#8 PEM) [env ZEROROOT_OPERATOR_KEY]")
    .option("--ca <file>", "trust anchors (PEM; default: the global stack's offline root certificate)")
    .option(
      "--bmc-netns <dc=ns,...>",
      "run ipmitool for a data center's BMCs in that network namespace [env ZEROROOT_DRIFT_BMC_NETNS]",
    )
    .option("--no-bmc", "do not observe the BMCs (no login to them is read)")
    .option(
      "--no-probes",
      "skip the live probes (when the management network does not reach the data network)",
    )
    .action(async (opts: DriftOptions) => {
      process.exitCode = await runDrift(opts);
    });
  registerSchedule(drift);
}

async function runDrift(opts: DriftOptions): Promise<number> {
  if (!FORMATS.includes(opts.format)) throw fail(`--format ${opts.format}: allowed: ${FORMATS.join(", ")}`);
  if (!opts.stack && !opts.all) throw fail("give --stack <name> or --all");
  if (opts.stack && opts.all) throw fail("give either --stack <name> or --all, not both");
  const drift = loadModule<typeof import("../../lib/drift")>("lib/drift");
  const now = Date.now();
  const since = opts.since !== undefined ? drift.parseSince(opts.since, now) : undefined;
  if (opts.since !== undefined && since === undefined)
    throw fail(
      `--since ${JSON.stringify(opts.since).slice(0, 40)}: allowed: 7d, 24h, 90m or a date YYYY-MM-DD`,
    );
  let selected: ReturnType<typeof select>;
  try {
    selected = select({ stack: opts.stack, all: opts.all, dir: opts.dir });
  } catch (e) {
    throw e instanceof UserError ? fail(e.message) : e;
  }
  const releases = opts.releases ?? process.env.ZEROROOT_RELEASES_DIR;
  if (releases !== undefined && !existsSync(releases))
    throw fail(`--releases ${releases}: no such directory (the signed releases the stacks name)`);
  const { desired, stackFiles } = await desiredOf(selected, drift, releases);
  const observed = opts.observed
    ? readObserved(opts.observed, drift)
    : await observeLive(desired, stackFiles, opts);
  const root = selected.root ?? process.cwd();
  const historyDir =
    opts.history === false ? undefined : (opts.history ?? join(root, ".zeroroot", "drift", "history"));
  const history = historyDir ? drift.loadHistory(historyDir) : [];
  const { EXEMPTIONS, findExemption } =
    loadModule<typeof import("../../policies/exemptions")>("policies/exemptions");
  const stacks = [...new Set(desired.map((d) => d.stack))];
  const run = drift.judgeFleet(desired, observed, {
    now,
    stacks,
    history,
    exemptions: (rule, resource) => findExemption(EXEMPTIONS, rule, resource, now),
  });
  if (historyDir)
    drift.appendHistory(historyDir, drift.recordOf(run, drift.HISTORY_LIMITS.maxFindingsPerRun));
  const { repositoryUri: uriOf } = loadModule<typeof import("../../lib/sarif/locate")>("lib/sarif/locate");
  const text =
    opts.format === "json"
      ? drift.formatJson(run, since)
      : opts.format === "sarif"
        ? drift.formatDriftSarif(run, { uriOf })
        : opts.format === "html"
          ? drift.formatHtml(run, since)
          : drift.formatText(run) + (since !== undefined ? `\n${drift.formatHistoryText(run, since)}` : "");
  if (opts.out) writeAtomic(opts.out, text);
  else process.stdout.write(text);
  if (opts.html) writeAtomic(opts.html, drift.formatHtml(run, since));
  if (opts.remediate) await remediate(run, desired, drift);
  return drift.hasDrift(run) ? 2 : 0;
}

type Drift = typeof import("../../lib/drift");

/** Evaluates the stacks (as `policy check` does) and reads each data-center stack's servers. */
async function desiredOf(
  sel: ReturnType<typeof select>,
  drift: Drift,
  releasesDir: string | undefined,
): Promise<{ desired: DesiredServer[]; stackFiles: Map<string, string> }> {
  const { evaluated, configErrors } = await evaluateStacks(sel.targets, sel.files, releasesDir);
  if (configErrors.length > 0)
    throw fail(
      configErrors.map((e) => `${relative(process.cwd(), e.file) || e.file}: ${e.message}`).join("\n"),
    );
  const desired: DesiredServer[] = [];
  const stackFiles = new Map<string, string>();
  const issues: string[] = [];
  for (const { file, evaluation } of evaluated) {
    const shown = relative(process.cwd(), file) || file;
    try {
      const servers = drift.desiredServersOf(
        readStackFile(file, { displayPath: shown }),
        evaluation.resources,
        shown,
      );
      desired.push(...servers);
      stackFiles.set(evaluation.stack, file);
    } catch (e) {
      if (!(e instanceof ConfigValidationError)) throw e;
      issues.push(formatIssues(e.issues));
    }
  }
  if (issues.length > 0) throw fail(issues.join("\n"));
  if (desired.length === 0)
    throw fail("the selected stacks declare no server (give a data-center stack or --all)");
  return { desired, stackFiles };
}

function readObserved(file: string, drift: Drift): ObservedServer[] {
  if (!existsSync(file)) throw fail(`--observed ${file}: no such file`);
  const size = statSync(file).size;
  if (size > drift.MAX_OBSERVED_BYTES)
    throw fail(`--observed ${file}: ${size} bytes; allowed: at most ${drift.MAX_OBSERVED_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw fail(`--observed ${file}: not JSON (${(e as Error).message.slice(0, 200)})`);
  }
  try {
    return drift.parseObserved(json);
  } catch (e) {
    throw fail(`--observed ${file}: ${(e as Error).message}`);
  }
}

/** Observes the servers live through lib/drift/observe (BMCs, control plane, probes). */
async function observeLive(
  desired: readonly DesiredServer[],
  stackFiles: ReadonlyMap<string, string>,
  opts: DriftOptions,
): Promise<ObservedServer[]> {
  const live = loadModule<typeof import("./drift-live")>("cli/commands/drift-live");
  return live.observeLive(desired, stackFiles, opts, fail);
}

async function remediate(run: import("../../lib/drift").DriftRun, desired: DesiredServer[], drift: Drift) {
  const steps = drift.planRemediation(run.findings);
  if (steps.length === 0) {
    process.stderr.write("remediate: nothing to do\n");
    return;
  }
  const live = loadModule<typeof import("./drift-live")>("cli/commands/drift-live");
  const actions = live.remediationActions(desired, fail);
  const outcomes = await drift.applyRemediation(steps, desired, run.findings, actions);
  for (const o of outcomes)
    process.stderr.write(
      `remediate: ${o.step.action} ${o.step.server}${"instance" in o.step ? ` ${o.step.instance}` : ""}${"certificate" in o.step ? ` ${o.step.certificate}` : ""}: ${o.ok ? "done" : `failed: ${o.error}`}\n`,
    );
}
