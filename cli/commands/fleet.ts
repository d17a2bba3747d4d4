/**
 * `zeroroot fleet validate|show`: check stack files without the Pulumi CLI (CI runs this on every
 * change), and print a data center's inventory. Never prints a BMC password.
 */
import { Command } from "commander";
import { join, relative } from "node:path";
import { existsSync } from "node:fs";
import {
  checkStackFiles,
  findProjectRoot,
  formatIssue,
  stackConfigDirOf,
  stackFilesIn,
  type ConfigIssue,
  type StackReport,
} from "../../lib/fleet";
import { UsageError } from "../errors";
import { renderTable } from "../table";

interface SelectOptions {
  stack?: string;
  file?: string;
  all?: boolean;
  dir?: string;
}

export function register(program: Command): void {
  const fleet = program
    .command("fleet")
    .description("Validate and show the fleet inventory (the stack files).");

  fleet
    .command("validate")
    .description(
      "Check stack files: each on its own, then across the fleet. Exit 0 when valid, 1 with every error listed.",
    )
    .option("--stack <name>", "the stack to check (stacks/Pulumi.<name>.yaml)")
    .option(
      "--file <path>",
      "a stack file anywhere (Pulumi.<name>.yaml); its siblings are the rest of the fleet",
    )
    .option("--all", "check every stack file of the project")
    .option("--dir <path>", "the stack config directory (default: stackConfigDir of the nearest Pulumi.yaml)")
    .action((opts: SelectOptions) => {
      const { targets, all } = select(opts);
      const { stacks, fleetIssues } = checkStackFiles(all);
      const chosen = stacks.filter((s) => targets.includes(s.file));
      const fleetForChosen = opts.all
        ? fleetIssues
        : fleetIssues.filter((i) => chosen.some((s) => s.file === i.file));
      const problems = chosen.reduce((n, s) => n + s.issues.length, 0) + fleetForChosen.length;
      for (const s of chosen) printStack(s);
      if (fleetForChosen.length > 0) {
        console.log(`fleet (across ${stacks.length} stack files): ${fleetForChosen.length} error(s)`);
        printIssues(fleetForChosen);
      }
      const broken = stacks.filter((s) => !targets.includes(s.file) && s.issues.length > 0);
      if (!opts.all && broken.length > 0)
        console.log(
          `note: ${broken.map((s) => s.file).join(", ")} have errors of their own (run with --all) and were left out of the fleet checks`,
        );
      if (problems > 0) process.exitCode = 1;
    });

  fleet
    .command("show")
    .description("Print a data center's inventory as a table (never the BMC passwords).")
    .option("--stack <name>", "the data-center stack to show")
    .option("--file <path>", "a stack file anywhere")
    .option("--dir <path>", "the stack config directory")
    .option("--json", "machine-readable output")
    .action((opts: SelectOptions & { json?: boolean }) => {
      if (!opts.stack && !opts.file) throw new UsageError("fleet show needs --stack <name> or --file <path>");
      const { targets, all } = select(opts);
      const report = checkStackFiles(all).stacks.find((s) => s.file === targets[0]);
      if (!report?.checked) {
        if (report) printStack(report);
        process.exitCode = 1;
        return;
      }
      const config = report.checked.config;
      if (config.kind === "global") {
        if (opts.json)
          console.log(
            JSON.stringify({ stack: report.stack, domain: config.domain, ...config.global }, null, 2),
          );
        else
          console.log(
            `global stack ${report.stack}: domain ${config.domain}; data centers ${config.global.dataCenters.join(", ")}`,
          );
        return;
      }
      const dc = config.dataCenter;
      const servers = dc.servers.map((s) => ({
        ...s,
        bmc: {
          address: s.bmc.address,
          port: s.bmc.port,
          username: s.bmc.username,
          cipherSuite: s.bmc.cipherSuite,
        },
      }));
      if (opts.json) {
        console.log(JSON.stringify({ stack: report.stack, domain: config.domain, ...dc, servers }, null, 2));
        return;
      }
      console.log(
        `data center ${dc.name}${dc.location ? ` (${dc.location})` : ""}, zone ${dc.name}.${config.domain}`,
      );
      console.log(
        `management network ${dc.managementNetwork}; data networks ${dc.dataNetworks.map((n) => `${n.name} ${n.cidr}`).join(", ")}`,
      );
      console.log(
        `management server ${dc.managementServer.id} ${dc.managementServer.hostname} (mgmt ${dc.managementServer.managementAddress}, data ${dc.managementServer.dataAddress})\n`,
      );
      console.log(
        renderTable(
          ["ID", "HOSTNAME", "ROLES", "ADDRESS", "MAC", "BMC", "CIPHER", "DECOMMISSION"],
          servers.map((s) => [
            s.id,
            s.hostname,
            s.roles.join(","),
            s.address,
            s.macs.join(","),
            `${s.bmc.address}:${s.bmc.port}`,
            String(s.bmc.cipherSuite),
            s.decommission ? "yes" : "no",
          ]),
        ),
      );
    });
}

/** Resolves --stack / --file / --all into the files to report on and the whole fleet's files. */
function select(opts: SelectOptions): { targets: string[]; all: string[] } {
  const given = [opts.stack, opts.file, opts.all].filter(Boolean).length;
  if (given !== 1) throw new UsageError("give exactly one of --stack <name>, --file <path> or --all");
  let dir: string;
  if (opts.file) {
    if (!existsSync(opts.file)) throw new UsageError(`--file ${opts.file}: no such file`);
    dir = join(opts.file, "..");
  } else if (opts.dir) {
    dir = opts.dir;
  } else {
    const root = findProjectRoot(process.cwd());
    if (!root)
      throw new UsageError(
        "no Pulumi.yaml in this directory or above; run inside a zeroroot project or pass --dir",
      );
    dir = stackConfigDirOf(root);
  }
  if (!existsSync(dir)) throw new UsageError(`stack config directory ${dir} does not exist`);
  const all = stackFilesIn(dir).map((f) => relative(process.cwd(), f) || f);
  let targets: string[];
  if (opts.all) targets = all;
  else {
    const wanted = relative(process.cwd(), opts.file ?? join(dir, `Pulumi.${opts.stack}.yaml`));
    if (!all.includes(wanted)) {
      const names = all.map((f) => /Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1]).join(", ");
      throw new UsageError(
        opts.file
          ? `--file ${opts.file}: the name must be Pulumi.<stack>.yaml`
          : `--stack ${opts.stack}: no ${wanted}; stacks here: ${names || "none"}`,
      );
    }
    targets = [wanted];
  }
  return { targets, all };
}

function printStack(s: StackReport): void {
  if (s.issues.length === 0) {
    const c = s.checked?.config;
    const what =
      c?.kind === "dataCenter"
        ? `data center ${c.dataCenter.name}: management server and ${c.dataCenter.servers.length} servers`
        : "global stack";
    console.log(`${s.file}: valid (${what})`);
    return;
  }
  console.log(`${s.file}: ${s.issues.length} error(s)`);
  printIssues(s.issues);
}

function printIssues(issues: readonly ConfigIssue[]): void {
  for (const issue of issues) console.log(`  - ${formatIssue(issue).replace(/\n/g, "\n  ")}`);
}
