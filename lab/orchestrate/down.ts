/**
 * `zeroroot lab down`: stops every BMC, server and site of the current lab (lab-id.ts) and removes
 * its namespaces — only its own: another lab's, or another tool's namespaces sharing "zr", stay.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { resetBmcSimUsers, stopBmcSim } from "../bmc";
import { isLabNamespace, labNetDown } from "../net";
import { haltServer } from "../server";
import { IpmitoolBmcClient, spawnRunner } from "../../lib/ipmi";
import { inNamespace } from "../net";
import { currentLabId, labPrefixOf } from "./lab-id";
import { labDir, mgmtNs, readLabLayout } from "./layout";
import { stopLabControlPlane } from "./controlplane";
import { stopSite } from "./sites";
import { labBmcLogin } from "../bmc/login";

export async function labDown(
  opts: { purge?: boolean; log?: (m: string) => void } = {},
): Promise<{ remainingNamespaces: readonly string[] }> {
  const log = opts.log ?? ((m: string) => process.stdout.write(`${m}\n`));
  const prefix = labPrefixOf(currentLabId());
  const only = (ns: string) => isLabNamespace(prefix, ns);
  const lab = readLabLayout();
  if (!lab) {
    log(`no lab in ${labDir()}; removing any of its namespaces (${prefix}…) left behind`);
    const r = await labNetDown(prefix, { only });
    if (opts.purge) rmSync(labDir(), { recursive: true, force: true });
    return { remainingNamespaces: r.remaining };
  }
  const servers = lab.plan.dataCenters.flatMap((d) => d.servers.map((s) => s.id));
  // Power off through each BMC, as an operator would, so the BMC's own state says "off" next time.
  await Promise.all(
    lab.plan.dataCenters.flatMap((d) =>
      d.servers.map((s) =>
        new IpmitoolBmcClient(
          {
            serverId: s.id,
            address: s.bmcAddress,
            ...labBmcLogin(lab, s.id),
            cipherSuite: 3,
          },
          {
            runner: spawnRunner(inNamespace(mgmtNs(d.id))),
            retry: { retries: 1 },
            wait: { timeoutMs: 20_000, intervalMs: 500 },
          },
        )
          .setPower("off")
          .catch(() => undefined),
      ),
    ),
  );
  // Every BMC and server this lab ever ran, also those of servers a shrink left behind.
  const everRan = [
    ...new Set([
      ...servers,
      ...(existsSync(lab.paths.bmc) ? readdirSync(lab.paths.bmc) : []),
      ...(existsSync(join(lab.dir, "servers")) ? readdirSync(join(lab.dir, "servers")) : []),
    ]),
  ];
  await Promise.all(everRan.map((id) => stopBmcSim(join(lab.paths.bmc, id)).catch(() => undefined)));
  // The managed BMC credentials live only in the runner's state, which is removed below (as a lost
  // Pulumi state would lose them): reset each simulated BMC's accounts to factory, as docs/bmc.md's
  // recovery does on real hardware, so the next `lab up` enrolls them again with the initial user.
  for (const id of everRan) resetBmcSimUsers(join(lab.paths.bmc, id));
  await Promise.all(everRan.map((id) => haltServer(id, { labDir: lab.dir }).catch(() => undefined)));
  await Promise.all(lab.plan.dataCenters.map((d) => stopSite(lab, d.id)));
  await stopLabControlPlane(lab).catch(() => undefined);
  const r = await labNetDown(prefix, { only });
  // The runner's state describes a running lab; with everything stopped it no longer does. The next
  // `lab up` then converges each server again (already enrolled servers only get powered on).
  rmSync(lab.paths.state, { recursive: true, force: true });
  log(
    `stopped ${servers.length} servers and their BMCs, ${lab.plan.dataCenters.length} sites; removed ${r.removed.length} namespaces`,
  );
  if (opts.purge) {
    rmSync(lab.dir, { recursive: true, force: true });
    log(`removed ${lab.dir} (disks, certificates, state)`);
  }
  return { remainingNamespaces: r.remaining };
}
