/**
 * `zeroroot drift schedule --render`: the systemd service and timer that run `zeroroot drift --all` on a
 * management server (lib/drift/schedule renders them; nothing is installed here).
 */
import type { Command } from "commander";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadModule } from "../lazy";
import { fail, writeAtomic } from "./drift-io";

export function registerSchedule(drift: Command): void {
  drift
    .command("schedule")
    .description(
      "Render the systemd service and timer that run `zeroroot drift --all` on a management server",
    )
    .option("--render", "print the units (or write them with --out-dir)")
    .option("--out-dir <dir>", "write zeroroot-drift.service and zeroroot-drift.timer into this directory")
    .option("--user <name>", "unprivileged account of the run", "zr-drift")
    .option("--checkout <path>", "the zeroroot checkout on the management server", "/opt/zeroroot")
    .option("--interval <span>", "systemd time span between runs", "15min")
    .option("--cert <file>", "operator certificate chain the unit loads as a credential")
    .option("--key <file>", "operator key the unit loads as a credential")
    .option("--passphrase-file <file>", "stack secrets passphrase file, loaded as a credential")
    .option(
      "--state <dir>",
      "the stacks' exported deployment state (managed BMC logins); needs --passphrase-file",
    )
    .action((o: ScheduleCliOptions) => schedule(o));
}

interface ScheduleCliOptions {
  render?: boolean;
  outDir?: string;
  user: string;
  checkout: string;
  interval: string;
  cert?: string;
  key?: string;
  passphraseFile?: string;
  state?: string;
}

function schedule(o: ScheduleCliOptions): void {
  if (!o.render)
    throw fail("give --render (the units are printed, or written with --out-dir; nothing is installed)");
  const { renderSchedule, SCHEDULE_UNIT } =
    loadModule<typeof import("../../lib/drift/schedule")>("lib/drift/schedule");
  let units: ReturnType<typeof renderSchedule>;
  try {
    units = renderSchedule({
      user: o.user,
      checkout: o.checkout,
      interval: o.interval,
      certificate: o.cert,
      key: o.key,
      passphraseFile: o.passphraseFile,
      stateDir: o.state,
    });
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (!o.outDir) {
    process.stdout.write(
      `# ${SCHEDULE_UNIT}.service\n${units.service}\n# ${SCHEDULE_UNIT}.timer\n${units.timer}`,
    );
    return;
  }
  mkdirSync(o.outDir, { recursive: true });
  writeAtomic(join(o.outDir, `${SCHEDULE_UNIT}.service`), units.service, 0o644);
  writeAtomic(join(o.outDir, `${SCHEDULE_UNIT}.timer`), units.timer, 0o644);
  process.stdout.write(
    `wrote ${join(o.outDir, `${SCHEDULE_UNIT}.service`)} and ${join(o.outDir, `${SCHEDULE_UNIT}.timer`)}\n`,
  );
}
