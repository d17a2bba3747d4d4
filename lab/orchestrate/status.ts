/** `zeroroot lab status`: what each lab server is, read from its BMC, its disk and its namespace. */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { IpmitoolBmcClient, spawnRunner } from "../../lib/ipmi";
import { parseCertificate } from "../../lib/pki";
import { inNamespace } from "../net";
import { serverPaths, serverProcesses, serverStatus } from "../server";
import { BMC_USER, labLayout, mgmtNs, readLabLayout, serverNs, type LabLayout } from "./layout";

export interface ServerReport {
  readonly id: string;
  readonly dataCenter: string;
  readonly power: string;
  readonly bootDevice: string;
  readonly running: boolean;
  readonly phase?: string;
  readonly certificate?: { readonly subject: string; readonly issuer: string; readonly notAfter: string };
  readonly agentUser?: string;
  readonly listeningTcpPorts: readonly number[];
  readonly port22Listening: boolean;
  /** Programs running in partitions (instances of signed releases), as seen in the server's /proc. */
  readonly instances: readonly { readonly user: string; readonly uid: number; readonly command: string }[];
  readonly error?: string;
}

export async function labStatus(lab: LabLayout = readLabLayout() ?? labLayout()): Promise<ServerReport[]> {
  const jobs = lab.plan.dataCenters.flatMap((d) =>
    d.servers.map((s) => serverReport(lab, d.id, s.id, s.bmcAddress)),
  );
  return Promise.all(jobs);
}

async function serverReport(
  lab: LabLayout,
  dc: string,
  id: string,
  bmcAddress: string,
): Promise<ServerReport> {
  const base = {
    id,
    dataCenter: dc,
    listeningTcpPorts: [] as number[],
    port22Listening: false,
    instances: [] as ServerReport["instances"],
  };
  try {
    const bmc = new IpmitoolBmcClient(
      {
        serverId: id,
        address: bmcAddress,
        username: BMC_USER,
        password: lab.secrets.bmcPasswords[id],
        cipherSuite: 3,
      },
      { runner: spawnRunner(inNamespace(mgmtNs(dc))), retry: { retries: 1 } },
    );
    const [power, boot] = [await bmc.getPower(), await bmc.getBootDevice()];
    const st = serverStatus(id);
    const ports = listening(id);
    return {
      ...base,
      power,
      bootDevice: boot.device,
      running: st.running,
      phase: sitePhase(lab, dc, id),
      certificate: certificateOf(id),
      agentUser: st.running && st.device === "disk" ? agentUser(id) : undefined,
      listeningTcpPorts: ports,
      port22Listening: ports.includes(22),
      instances: st.running && st.device === "disk" ? instancesOf(id) : [],
    };
  } catch (err) {
    return {
      ...base,
      power: "unknown",
      bootDevice: "unknown",
      running: false,
      error: (err as Error).message,
    };
  }
}

function certificateOf(id: string): ServerReport["certificate"] {
  const file = join(serverPaths(id).disk, "etc/zeroroot/computer.crt");
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  const leaf = parseCertificate(text);
  const issuer = parseCertificate(text.slice(text.indexOf("-----END CERTIFICATE-----") + 25));
  return {
    subject: `CN=${leaf.commonName}`,
    issuer: `CN=${issuer.commonName}`,
    notAfter: leaf.notAfter.toISOString(),
  };
}

/** Processes of partition users (uid 2100 and up) other than their supervisord: the instances' programs. */
function instancesOf(id: string): ServerReport["instances"] {
  const names = userNames(id);
  return serverProcesses(id)
    .filter((p) => p.uids[0] >= 2100 && !/supervisord/.test(p.cmdline))
    .map((p) => ({ user: names.get(p.uids[0]) ?? `uid ${p.uids[0]}`, uid: p.uids[0], command: p.cmdline }));
}

function userNames(id: string): Map<number, string> {
  const passwd = readFileSync(join(serverPaths(id).disk, "etc/passwd"), "utf8");
  return new Map(
    passwd
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(":"))
      .map((f) => [Number(f[2]), f[0]] as [number, string]),
  );
}

/** The user the node agent runs as, by name from the server's own /etc/passwd. */
function agentUser(id: string): string | undefined {
  const agent = serverProcesses(id).find((p) => p.cmdline.includes("agent.js"));
  if (!agent) return undefined;
  const passwd = readFileSync(join(serverPaths(id).disk, "etc/passwd"), "utf8");
  const line = passwd.split("\n").find((l) => l.split(":")[2] === String(agent.uids[0]));
  return line ? line.split(":")[0] : `uid ${agent.uids[0]}`;
}

function listening(id: string): number[] {
  const r = spawnSync("ip", ["netns", "exec", serverNs(id), "ss", "-Hltn"], { encoding: "utf8" });
  if (r.status !== 0) return [];
  return [
    ...new Set(
      r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => Number(l.trim().split(/\s+/)[3]?.split(":").pop())),
    ),
  ]
    .filter((n) => !Number.isNaN(n))
    .sort((a, b) => a - b);
}

function sitePhase(lab: LabLayout, dc: string, id: string): string | undefined {
  const file = join(lab.paths.sites, dc, "state", "registry.json");
  if (!existsSync(file)) return undefined;
  const reg = JSON.parse(readFileSync(file, "utf8")) as { servers: Record<string, { phase: string }> };
  return reg.servers[id]?.phase;
}
