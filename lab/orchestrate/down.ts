/** `zeroroot lab down`: stops every BMC, server and site of the lab and removes its namespaces. */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { stopBmcSim } from "../bmc";
import { labNetDown } from "../net";
import { haltServer } from "../server";
import { labLayout, LAB_DIR, type LabLayout } from "./layout";
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
  await Promise.all(servers.map((id) => stopBmcSim(join(lab.paths.bmc, id)).catch(() => undefined)));
  await Promise.all(servers.map((id) => haltServer(id).catch(() => undefined)));
  for (const d of lab.plan.dataCenters) stopSite(lab, d.id);
  await stopLabControlPlane(lab).catch(() => undefined);
  const r = await labNetDown(lab.plan);
  log(
    `stopped ${servers.length} servers and their BMCs, ${lab.plan.dataCenters.length} sites; removed ${r.removed.length} namespaces`,
  );
  if (opts.purge) {
    rmSync(lab.dir, { recursive: true, force: true });
    log(`removed ${lab.dir} (disks, certificates, state)`);
  }
  return { remainingNamespaces: r.remaining };
}
