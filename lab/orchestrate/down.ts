/** `zeroroot lab down`: stops every BMC, server and site of the lab and removes its namespaces. */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { stopBmcSim } from "../bmc";
import { labNetDown } from "../net";
import { haltServer } from "../server";
import { IpmitoolBmcClient, spawnRunner } from "../../lib/ipmi";
import { inNamespace } from "../net";
import { BMC_USER, labLayout, LAB_DIR, mgmtNs, type LabLayout } from "./layout";
import { stopLabControlPlane } from "./controlplane";
import { stopSite } from "./sites";

export async function labDown(
  opts: { purge?: boolean; log?: (m: string) => void } = {},
): Promise<{ remainingNamespaces: readonly string[] }> {
  const log = opts.log ?? ((m: string) => process.stdout.write(`${m}\n`));
  if (!existsSync(join(LAB_DIR, "layout.json"))) {
    log("no lab here; removing any zr- namespaces left behind");
    const r = await labNetDown();
    return { remainingNamespaces: r.remaining };
  }
  const lab: LabLayout = labLayout();
  const servers = lab.plan.dataCenters.flatMap((d) => d.servers.map((s) => s.id));
  // Power off through each BMC, as an operator would, so the BMC's own state says "off" next time.
  await Promise.all(
    lab.plan.dataCenters.flatMap((d) =>
      d.servers.map((s) =>
        new IpmitoolBmcClient(
          {
            serverId: s.id,
            address: s.bmcAddress,
            username: BMC_USER,
            password: lab.secrets.bmcPasswords[s.id],
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
  await Promise.all(servers.map((id) => stopBmcSim(join(lab.paths.bmc, id)).catch(() => undefined)));
  await Promise.all(servers.map((id) => haltServer(id).catch(() => undefined)));
  for (const d of lab.plan.dataCenters) stopSite(lab, d.id);
  await stopLabControlPlane(lab).catch(() => undefined);
  const r = await labNetDown(lab.plan);
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
