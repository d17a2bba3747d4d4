/**
 * `zeroroot lab up|status|down|doctor`: the local three-data-center lab (root required). A test
 * bed: real BMC simulators, network namespaces as hosts, the hardened image, real site services,
 * deployed by the real stack programs through the lab runner.
 */
import { Command } from "commander";
import { EnvironmentError, UsageError, UserError } from "../errors";
import { loadModule } from "../lazy";

function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new EnvironmentError(
      "the lab needs root (it creates network namespaces, mounts and BMC simulators): run it with sudo",
    );
}

export function register(program: Command): void {
  const lab = program
    .command("lab")
    .description(
      "The local lab: three data centers of BMC-managed servers as network namespaces (root required).",
    )
    .option(
      "--lab-id <id>",
      "act on another lab (1-8 of [a-z0-9]): its own folder .zeroroot/lab-<id>, namespaces zr<id>-…, addresses; default $ZEROROOT_LAB_ID or your lab",
    );
  // The id reaches every module and child process (deploys, BMC hooks) through the environment.
  lab.hook("preAction", (cmd) => {
    const id = (cmd.opts() as { labId?: string }).labId;
    if (id === undefined) return;
    const { checkLabId, LAB_ID_ENV } =
      loadModule<typeof import("../../lab/orchestrate/lab-id")>("lab/orchestrate/lab-id");
    try {
      process.env[LAB_ID_ENV] = checkLabId(id, "--lab-id");
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  });

  lab
    .command("up")
    .description(
      "Build (or reuse) the lab, deploy the stacks, then read every server (BMC power, PID 1, the agent's ready report) and converge it: power on, restart, reinstall; exits 1 naming each server that did not converge.",
    )
    .option(
      "--servers-per-dc <n>",
      "servers in each data center (default: what the lab has, else 2); a different number grows the lab, or shrinks it by decommissioning the extra servers",
    )
    .action(async (opts: { serversPerDc?: string }) => {
      requireRoot();
      const n = opts.serversPerDc === undefined ? undefined : Number(opts.serversPerDc);
      if (n !== undefined && (!/^\d{1,2}$/.test(opts.serversPerDc ?? "") || n < 1 || n > 50))
        throw new UsageError(
          `--servers-per-dc ${JSON.stringify(opts.serversPerDc)}: give a whole number from 1 to 50`,
        );
      const { labUp, LabError } = loadModule<typeof import("../../lab/orchestrate/up")>("lab/orchestrate/up");
      const { labStatus } =
        loadModule<typeof import("../../lab/orchestrate/status")>("lab/orchestrate/status");
      try {
        const l = await labUp({ serversPerDc: n });
        printStatus(await labStatus(l));
      } catch (err) {
        if (err instanceof LabError) throw new UserError((err as Error).message);
        throw err;
      }
    });

  lab
    .command("status")
    .description(
      "What is really there: the control plane (members, leader, health, asked of etcd), each site service (answers or not), each server (BMC power, PID 1, boot device, agent's last report). Exits 1 when anything is down.",
    )
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      requireRoot();
      const { labStatus } =
        loadModule<typeof import("../../lab/orchestrate/status")>("lab/orchestrate/status");
      const { readLabLayout, labDir } =
        loadModule<typeof import("../../lab/orchestrate/layout")>("lab/orchestrate/layout");
      if (!readLabLayout()) throw new UserError(`no lab in ${labDir()}: run \`zeroroot lab up\` first`);
      const report = await labStatus();
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else printStatus(report);
      // 0 everything up · 1 something down (listed) · 2 usage · 3 not root (README, "The lab")
      if (!report.up) process.exitCode = 1;
    });

  lab
    .command("down")
    .description(
      "Stop every BMC, server and site of the lab and remove its namespaces (disks and certificates stay unless --purge).",
    )
    .option("--purge", "also delete the lab directory (disks, certificates, deployment state)")
    .action(async (opts: { purge?: boolean }) => {
      requireRoot();
      const { labDown } = loadModule<typeof import("../../lab/orchestrate/down")>("lab/orchestrate/down");
      const r = await labDown({ purge: opts.purge });
      if (r.remainingNamespaces.length > 0)
        throw new UserError(`namespaces still present: ${r.remainingNamespaces.join(", ")}`);
    });

  lab
    .command("doctor")
    .description("List what the lab needs from this machine and how to install what is missing.")
    .action(async () => {
      const { doctor, formatDoctor } =
        loadModule<typeof import("../../lab/orchestrate/doctor")>("lab/orchestrate/doctor");
      const r = doctor();
      console.log(formatDoctor(r));
      if (!r.root || r.missing.length > 0) process.exitCode = 3;
    });
}

function printStatus(
  report: Awaited<ReturnType<typeof import("../../lab/orchestrate/status").labStatus>>,
): void {
  const { formatLabStatus } = loadModule<typeof import("../../lab/orchestrate/status-format")>(
    "lab/orchestrate/status-format",
  );
  console.log(formatLabStatus(report));
}
