/**
 * The lab's servers as hardware: their netboot files, their BMCs (one ipmi_sim each), the explicit
 * decommission of servers the lab no longer has (a smaller --servers-per-dc), and the convergence
 * of every data center, run from its management namespace (converge-cli.ts).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IpmitoolBmcClient, spawnRunner } from "../../lib/ipmi";
import { runningSimPid, startBmcSim, stopBmcSim } from "../bmc";
import { inNamespace, isLabNamespace, labNetDown, listNamespaces } from "../net";
import { haltServer, serverStatus } from "../server";
import { labToolCommands, labToolsDir } from "../server/tools";
import { runChild } from "./child";
import { RESULT_MARK, type ServerResult } from "./converge";
import { labPrefixOf } from "./lab-id";
import {
  BMC_USER,
  bmcNs,
  DOMAIN,
  labNetPlan,
  mgmtNs,
  REPO_ROOT,
  serverNs,
  SITE_PORT,
  type LabLayout,
} from "./layout";
import { labBmcLogin } from "../bmc/login";

const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");

export const planServers = (lab: LabLayout) =>
  lab.plan.dataCenters.flatMap((dc) => dc.servers.map((s) => ({ dc: dc.id, ...s })));

/** The netboot configuration PXE would hand each server: where its site is, which interface booted. */
export function writeNetbootFiles(lab: LabLayout, rootPath: string): void {
  mkdirSync(lab.paths.netboot, { recursive: true });
  for (const s of planServers(lab)) {
    const dc = lab.plan.dataCenters.find((x) => x.id === s.dc)!;
    const command = [
      ...labToolCommands(labToolsDir(lab.dir)).installer,
      "--site-url",
      `https://${dc.managementServer.dataAddress}:${SITE_PORT}`,
      "--server-name",
      `site.${s.dc}.${DOMAIN}`,
      "--interface",
      "eth0",
      "--root-ca",
      rootPath,
    ];
    writeFileSync(join(lab.paths.netboot, `${s.id}.json`), JSON.stringify({ command }, null, 1) + "\n");
  }
}

/** One ipmi_sim per server on its data center's BMC network; its hooks act on this lab's folder only. */
export async function ensureBmcs(lab: LabLayout): Promise<void> {
  const server = labToolCommands(labToolsDir(lab.dir)).server;
  await Promise.all(
    planServers(lab).map((s) =>
      startBmcSim({
        serverId: s.id,
        netns: bmcNs(s.dc),
        address: s.bmcAddress,
        username: BMC_USER,
        password: lab.secrets.bmcPasswords[s.id],
        stateDir: join(lab.paths.bmc, s.id),
        bootCommand: [...server, "boot", s.id, "--lab-dir", lab.dir, "--netns", serverNs(s.id), "--device"],
        haltCommand: [...server, "halt", s.id, "--lab-dir", lab.dir],
      }),
    ),
  );
}

const SERVER_NS = /^([a-z0-9]{1,12})-s\d{1,3}$/;
const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

/**
 * Servers that exist — a namespace, a running BMC or a running server of this lab — and that the
 * plan no longer names. Read from the machine, not from the recorded size.
 */
export async function extraServers(lab: LabLayout): Promise<string[]> {
  const prefix = labPrefixOf(lab.id);
  const wanted = new Set(planServers(lab).map((s) => s.id));
  const found = new Set<string>();
  for (const ns of await listNamespaces())
    if (isLabNamespace(prefix, ns) && SERVER_NS.test(ns.slice(prefix.length)))
      found.add(ns.slice(prefix.length));
  for (const id of list(lab.paths.bmc))
    if (runningSimPid(join(lab.paths.bmc, id)) !== undefined) found.add(id);
  for (const id of list(join(lab.dir, "servers")))
    if (SERVER_NS.test(id) && serverStatus(id, { labDir: lab.dir }).running) found.add(id);
  return [...found].filter((id) => !wanted.has(id)).sort();
}

/**
 * Powers extra servers off before the stacks forget them: through the BMC as an operator would,
 * then (if the BMC did not answer in time) by halting PID 1, so the provider's delete finds them
 * already off. Idempotent.
 */
export async function powerOff(lab: LabLayout, ids: readonly string[], log: (m: string) => void) {
  await Promise.all(
    ids.map(async (id) => {
      const dc = SERVER_NS.exec(id)?.[1] ?? "";
      const { username, password } = labBmcLogin(lab, id);
      // Its address in the plan of a lab big enough to hold it (the same rule that placed it).
      const bmcAddress = labNetPlan(Number(id.split("-s").pop()))
        .dataCenters.find((d) => d.id === dc)
        ?.servers.find((x) => x.id === id)?.bmcAddress;
      if (runningSimPid(join(lab.paths.bmc, id)) !== undefined && password && bmcAddress)
        await new IpmitoolBmcClient(
          { serverId: id, address: bmcAddress, username, password, cipherSuite: 3 },
          { runner: spawnRunner(inNamespace(mgmtNs(dc))), retry: { retries: 2 } },
        )
          .setPower("off")
          .catch((e: unknown) =>
            log(`${id}: power off through its BMC failed (${(e as Error).message}); halting it`),
          );
      await haltServer(id, { labDir: lab.dir });
    }),
  );
}

/**
 * Decommissions servers explicitly: powered off (powerOff), BMC stopped, PID 1 checked gone,
 * namespace removed. The disk (and its certificate) stays: wiping is a human decision; a lab grown
 * again boots it from disk. Throws naming what remains.
 */
export async function decommission(lab: LabLayout, ids: readonly string[], log: (m: string) => void) {
  const prefix = labPrefixOf(lab.id);
  await powerOff(lab, ids, log);
  for (const id of ids) {
    const bmcDir = join(lab.paths.bmc, id);
    await stopBmcSim(bmcDir);
    await haltServer(id, { labDir: lab.dir });
    await labNetDown(prefix, { only: (ns) => ns === serverNs(id) });
    rmSync(join(lab.paths.netboot, `${id}.json`), { force: true });
    const left = [
      runningSimPid(bmcDir) !== undefined ? "its BMC still runs" : "",
      serverStatus(id, { labDir: lab.dir }).running ? "its PID 1 still runs" : "",
      (await listNamespaces()).includes(serverNs(id)) ? `namespace ${serverNs(id)} remains` : "",
    ].filter(Boolean);
    if (left.length > 0) throw new Error(`decommissioning ${id} failed: ${left.join(", ")}`);
    log(`${id}: decommissioned (powered off, BMC stopped, namespace removed; disk kept)`);
  }
}

/** Converges every data center from its management namespace; one result per planned server. */
export async function convergeAll(
  lab: LabLayout,
  env: Record<string, string>,
  log: (m: string) => void,
): Promise<ServerResult[]> {
  const perDc = await Promise.all(
    lab.plan.dataCenters.map(async (dc) => {
      const results: ServerResult[] = [];
      const tail: string[] = [];
      const argv = [
        "ip",
        "netns",
        "exec",
        mgmtNs(dc.id),
        TSX,
        join(__dirname, "converge-cli.ts"),
        "--dc",
        dc.id,
      ];
      await runChild(argv, env, (line) => {
        if (line.startsWith(RESULT_MARK))
          results.push(JSON.parse(line.slice(RESULT_MARK.length)) as ServerResult);
        else {
          tail.push(line);
          log(`[${dc.id}] ${line}`);
        }
      }).catch(() => undefined);
      // A server without a result is reported too: the convergence of its data center stopped.
      return dc.servers.map(
        (s) =>
          results.find((r) => r.id === s.id) ?? {
            id: s.id,
            converged: false,
            acted: [],
            seen: "not read",
            why: `the convergence of ${dc.id} stopped: ${tail.slice(-3).join(" | ") || "no output"}`,
          },
      );
    }),
  );
  return perDc.flat();
}
