/**
 * `zeroroot policy check`: the policy pack over the stack programs without the Pulumi CLI. Each
 * stack program runs under Pulumi's mocks (lab/stack-eval.ts; the global stack first, its outputs
 * fed to the data-center stacks' StackReference), every resource it registers is captured with its
 * inputs and `protect`/`retainOnDelete`, and the pack's policies judge them: per stack, then once
 * over all evaluated stacks for the rules that judge relations across stacks (spread,
 * signed-software). Exit 0 when no mandatory violation, 1 otherwise or on a config error, 2 usage.
 */
import { Command } from "commander";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import {
  ConfigValidationError,
  DEFAULT_GLOBAL_STACK,
  KEYS,
  findProjectRoot,
  formatIssues,
  readStackFile,
  stackConfigDirOf,
  stackFilesIn,
  stackNameOf,
} from "../../lib/fleet";
import type { Evaluation } from "../../lab/stack-eval";
import type { CapturedResource, PackConfig, Violation } from "../../policies/policies";
import type { StackReport } from "../../policies/report";
import { UsageError, UserError } from "../errors";
import { loadModule } from "../lazy";

interface CheckOptions {
  stack?: string;
  file?: string;
  all?: boolean;
  dir?: string;
  format: string;
  config?: string;
}

/** Policies that judge relations between resources, run again over the union of stacks. */
export const CROSS_STACK_POLICIES = ["spread", "signed-software"] as const;
export const ALL_STACKS = "(all stacks)";

export function register(program: Command): void {
  const policy = program
    .command("policy")
    .description("Run the policy pack (the rule book) over the stacks.");
  policy
    .command("check")
    .description(
      "Evaluate the stack programs under mocks and run the policy pack over every resource they register. Exit 0 when no mandatory violation, 1 otherwise.",
    )
    .option(
      "--stack <name>",
      "one stack (stacks/Pulumi.<name>.yaml); the global stack is evaluated for its outputs",
    )
    .option(
      "--file <path>",
      "a stack file anywhere (Pulumi.<name>.yaml); its siblings are the rest of the fleet",
    )
    .option("--all", "every stack of the project")
    .option("--dir <path>", "the stack config directory (default: stackConfigDir of the nearest Pulumi.yaml)")
    .option("--format <format>", "text, json or sarif", "text")
    .option(
      "--config <path>",
      "policy pack config, read as `pulumi preview --policy-pack-config` reads it (default: policies/policy-config.json of the project)",
    )
    .action(async (opts: CheckOptions) => {
      if (!["text", "json", "sarif"].includes(opts.format))
        throw new UsageError(`--format ${opts.format}: allowed: text, json, sarif`);
      const { targets, files, root } = select(opts);
      const config = readPackConfig(
        opts.config ?? (root ? join(root, "policies", "policy-config.json") : undefined),
        opts.config !== undefined,
      );
      const result = await checkStacks(targets, files, config);
      const { formatJson, formatSarif, formatText, hasMandatory } =
        loadModule<typeof import("../../policies/report")>("policies/report");
      for (const e of result.configErrors)
        process.stderr.write(`${relative(process.cwd(), e.file) || e.file}: ${e.message}\n`);
      const out =
        opts.format === "json"
          ? formatJson(result.reports)
          : opts.format === "sarif"
            ? formatSarif(result.reports, { locate: violationLocatorOf(result.sources, root) })
            : formatText(result.reports);
      process.stdout.write(out);
      if (result.configErrors.length > 0 || hasMandatory(result.reports)) process.exitCode = 1;
    });
}

export interface CheckResult {
  readonly reports: StackReport[];
  readonly configErrors: { readonly file: string; readonly message: string }[];
  /** Each evaluated stack's file and resources, to locate a violation's config key (SARIF). */
  readonly sources: ReadonlyMap<string, EvaluatedStack>;
}

export interface EvaluatedStack {
  readonly file: string;
  readonly evaluation: Evaluation;
}

/**
 * Evaluates `targets` under the SDK's mocks, the global stack among `files` first (its outputs feed
 * the data-center stacks' StackReference). Config errors are collected, not thrown: the other
 * stacks are still evaluated. `zeroroot drift` reads the desired state through this too.
 */
export async function evaluateStacks(
  targets: readonly string[],
  files: readonly string[],
  /** Where the signed releases are (`zeroroot drift --releases`). @default - releases/ of this checkout */
  releasesDir?: string,
): Promise<{ evaluated: EvaluatedStack[]; configErrors: CheckResult["configErrors"] }> {
  const { evaluateStack } = loadModule<typeof import("../../lab/stack-eval")>("lab/stack-eval");
  const configErrors: CheckResult["configErrors"] = [];
  const globalFile = files.find((f) => isGlobal(f));
  let globalEval: Evaluation | undefined;
  const evaluate = async (file: string, stackOutputs?: Record<string, Record<string, unknown>>) => {
    try {
      return await evaluateStack(file, {
        stackOutputs,
        stackOptions: {
          plainSecrets: "leave-to-policy",
          ...(releasesDir !== undefined ? { releasesDir } : {}),
        },
      });
    } catch (e) {
      if (!(e instanceof ConfigValidationError)) throw e;
      configErrors.push({ file, message: formatIssues(e.issues) });
      return undefined;
    }
  };
  if (globalFile) globalEval = await evaluate(globalFile);
  const evaluated: EvaluatedStack[] = [];
  for (const file of targets) {
    if (file === globalFile) {
      if (globalEval) evaluated.push({ file, evaluation: globalEval });
      continue;
    }
    if (!globalEval) {
      configErrors.push({
        file,
        message: globalFile
          ? `not evaluated: the global stack ${globalFile} has errors and this stack reads its outputs`
          : "not evaluated: no global stack (a stack file with zeroroot:global) next to it",
      });
      continue;
    }
    const ref = referencedGlobal(file);
    const e = await evaluate(file, { [ref]: globalEval.outputs });
    if (e) evaluated.push({ file, evaluation: e });
  }
  return { evaluated, configErrors };
}

/** Evaluates the stacks and runs the pack: per stack, then cross-stack policies over all of them. */
export async function checkStacks(
  targets: readonly string[],
  files: readonly string[],
  config: PackConfig,
): Promise<CheckResult> {
  const { evaluatePolicies } = loadModule<typeof import("../../policies/policies")>("policies/policies");
  const { evaluated, configErrors } = await evaluateStacks(targets, files);
  const reports: StackReport[] = [];
  const seen = new Set<string>();
  const all: CapturedResource[] = [];
  for (const { evaluation: e } of evaluated) {
    const captured = capture(e);
    all.push(...captured);
    const violations = evaluatePolicies(captured, config);
    violations.forEach((v) => seen.add(keyOf(v)));
    reports.push({ stack: e.stack, violations, resourceCount: captured.length });
  }
  if (evaluated.length > 1) {
    const cross = evaluatePolicies(all, config, { only: CROSS_STACK_POLICIES }).filter(
      (v) => !seen.has(keyOf(v)),
    );
    reports.push({ stack: ALL_STACKS, violations: cross, resourceCount: all.length });
  }
  return { reports, configErrors, sources: new Map(evaluated.map((x) => [x.evaluation.stack, x])) };
}

/** Each violation's stack file line (lib/sarif/locate.ts), paths relative to the repository root. */
function violationLocatorOf(sources: CheckResult["sources"], root: string | undefined) {
  const { violationLocator, repositoryUri } =
    loadModule<typeof import("../../lib/sarif/locate")>("lib/sarif/locate");
  const exemptionsFile = root ? join(root, "policies", "exemptions.ts") : undefined;
  const text =
    exemptionsFile && existsSync(exemptionsFile) ? readFileSync(exemptionsFile, "utf8") : undefined;
  return violationLocator(
    new Map([...sources].map(([stack, s]) => [stack, { file: s.file, resources: s.evaluation.resources }])),
    repositoryUri,
    (p) => readStackFile(p),
    exemptionsFile && text !== undefined ? { file: exemptionsFile, text } : undefined,
  );
}

const keyOf = (v: Violation) => [v.policy, v.urn ?? "", v.path ?? "", v.message].join("\u0000");

/** Every resource the program registered, as the pack's policies receive them. */
export function capture(e: Evaluation): CapturedResource[] {
  return e.resources
    .filter((r) => r.custom)
    .map((r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: r.inputs,
      opts: r.options,
      // Captured under mocks: secret values keep the SDK's wrapper, so a bare value is plain text.
      secretsKnown: true,
    }));
}

function isGlobal(file: string): boolean {
  try {
    return readStackFile(file).values[KEYS.global] !== undefined;
  } catch {
    return false;
  }
}

function referencedGlobal(file: string): string {
  try {
    const v = readStackFile(file).values[KEYS.globalStack];
    return typeof v === "string" ? v : DEFAULT_GLOBAL_STACK;
  } catch {
    return DEFAULT_GLOBAL_STACK;
  }
}

const MAX_CONFIG_BYTES = 1024 * 1024;

/** The pack config, read as the Pulumi CLI reads `--policy-pack-config` (policies/config.ts). */
function readPackConfig(file: string | undefined, given: boolean): PackConfig {
  if (given && file && !existsSync(file))
    throw new UsageError(
      `--config ${file}: no such file; give the policy pack config (e.g. policies/policy-config.json)`,
    );
  if (!file || !existsSync(file)) return {};
  // Bounded before it is read: a pack config is a few kilobytes.
  if (statSync(file).size > MAX_CONFIG_BYTES)
    throw new UserError(
      `${file}: ${statSync(file).size} bytes; allowed: at most ${MAX_CONFIG_BYTES} bytes of policy pack config`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message}); fix the policy pack config`);
  }
  const { packConfigOf, PackConfigError } =
    loadModule<typeof import("../../policies/config")>("policies/config");
  const { policies } = loadModule<typeof import("../../policies/policies")>("policies/policies");
  try {
    return packConfigOf(raw, file, policies);
  } catch (e) {
    if (e instanceof PackConfigError) throw new UserError(e.message);
    throw e;
  }
}

/** The stack files `--stack`/`--file`/`--all` name, all stack files beside them, and the project root. */
export function select(opts: Pick<CheckOptions, "stack" | "file" | "all" | "dir">): {
  targets: string[];
  files: string[];
  root?: string;
} {
  const given = [opts.stack, opts.file, opts.all].filter(Boolean).length;
  if (given !== 1) throw new UsageError("give exactly one of --stack <name>, --file <path> or --all");
  const root = findProjectRoot(process.cwd());
  let dir: string;
  if (opts.file) {
    if (!existsSync(opts.file)) throw new UsageError(`--file ${opts.file}: no such file`);
    if (!stackNameOf(opts.file))
      throw new UsageError(`--file ${opts.file}: the name must be Pulumi.<stack>.yaml`);
    dir = join(opts.file, "..");
  } else if (opts.dir) dir = opts.dir;
  else {
    if (!root)
      throw new UsageError(
        "no Pulumi.yaml in this directory or above; run inside a zeroroot project or pass --dir",
      );
    dir = stackConfigDirOf(root);
  }
  if (!existsSync(dir)) throw new UsageError(`stack config directory ${dir} does not exist`);
  const files = stackFilesIn(dir);
  const show = (f: string) => relative(process.cwd(), f) || f;
  if (opts.all) return { targets: files, files, root };
  const wanted = opts.file ? join(dir, relative(dir, opts.file)) : join(dir, `Pulumi.${opts.stack}.yaml`);
  const match = files.find((f) => show(f) === show(wanted));
  if (!match) {
    const names = files.map((f) => stackNameOf(f)).join(", ");
    throw new UsageError(`--stack ${opts.stack}: no ${show(wanted)}; stacks here: ${names || "none"}`);
  }
  return { targets: [match], files, root };
}
