/**
 * The node agent, run by zr-agent's own supervisord on every installed server (never as root, never
 * importing the Pulumi SDK). It proves the node's identity by reporting readiness to its site over
 * mutual TLS, and, when agent.json names the control plane, runs the full agent (agent.ts): desired
 * state, releases, partitions, reports and alerts.
 *
 *   node agent.js [--config-dir /etc/zeroroot]
 */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { parseAgentConfig, parseTrustFile, type AgentConfig } from "../../lib/agent/config";
import { ROUTES, SiteClient, type ReadyReport } from "../../lib/site";
import { NodeAgent } from "./agent";
import { loadIdentity } from "./identity";
import { bootId, listeningTcpPorts } from "./observe";

/** The bundle's control-plane client (client-h2.ts in the image), exported for `bench agent-parts`. */
export { ControlPlaneClient } from "../../lib/controlplane";

const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} zr-agent: ${msg}\n`);

function whoAmI(): { username: string; uid: number } {
  const uid = process.getuid?.() ?? -1;
  try {
    return { username: userInfo().username, uid };
  } catch {
    return { username: `uid-${uid}`, uid }; // no passwd entry (lab)
  }
}

function siteClient(id: ReturnType<typeof loadIdentity>): SiteClient {
  return new SiteClient({
    url: id.siteUrl,
    trust: id.rootPem,
    serverName: id.siteServerName,
    identity: { certificateChainPem: id.certificateChainPem, privateKeyPem: id.privateKeyPem },
  });
}

/** Readiness to the site, as the minimal agent always did; keeps running whatever the site does. */
export async function runAgent(
  opts: { identityDir?: string; intervalMs?: number; once?: boolean } = {},
): Promise<void> {
  if (process.getuid?.() === 0) throw new Error("refusing to run as root (zero root): run as zr-agent");
  const site = siteClient(loadIdentity(opts.identityDir));
  const me = whoAmI();
  let delay = 1000;
  for (;;) {
    const report: ReadyReport = {
      agentUser: me.username,
      agentUid: me.uid,
      listeningTcpPorts: listeningTcpPorts(),
      bootId: bootId(),
    };
    try {
      await site.post(ROUTES.ready, report);
      if (delay !== 1000) log("site reachable again");
      delay = 1000;
      if (opts.once) return;
      await sleep(opts.intervalMs ?? 15_000);
    } catch (err) {
      // Keep running whatever the site does; back off up to a minute.
      log(`report failed (${(err as Error).message}); retrying in ${delay / 1000}s`);
      if (opts.once) throw err;
      await sleep(delay);
      delay = Math.min(delay * 2, 60_000);
    }
  }
}

/** Loads agent.json, trust.json and the identity from `dir` and starts the full agent. */
export async function startNodeAgent(
  dir = "/etc/zeroroot",
): Promise<{ agent: NodeAgent; config: AgentConfig }> {
  if (process.getuid?.() === 0) throw new Error("refusing to run as root (zero root): run as zr-agent");
  const id = loadIdentity(dir);
  const config = parseAgentConfig(
    JSON.parse(readFileSync(join(dir, "agent.json"), "utf8")),
    join(dir, "agent.json"),
  );
  const trustFile = join(dir, "trust.json");
  const trust = parseTrustFile(JSON.parse(readFileSync(trustFile, "utf8")), trustFile);
  const agent = new NodeAgent({
    config,
    rootPem: id.rootPem,
    certificateChainPem: id.certificateChainPem,
    privateKeyPem: id.privateKeyPem,
    trust: { authorisation: trust.authorisation, crls: trust.crlFiles.map((f) => readFileSync(f, "utf8")) },
    site: siteClient(id),
    crlSite: siteClient(id),
    log,
  });
  await agent.start();
  return { agent, config };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf("--config-dir");
  const dir = i >= 0 ? argv[i + 1] : "/etc/zeroroot";
  const me = whoAmI();
  log(`starting as ${me.username} (uid ${me.uid})`);
  if (me.uid === 0) throw new Error("refusing to run as root (zero root): run as zr-agent");
  const config = parseAgentConfig(
    JSON.parse(readFileSync(join(dir, "agent.json"), "utf8")),
    join(dir, "agent.json"),
  );
  if (config.controlPlane) {
    const { agent } = await startNodeAgent(dir);
    const shutdown = () => void agent.stop().then(() => process.exit(0));
    process.on("SIGTERM", shutdown);
    process.on("SIGINT", shutdown);
  }
  await runAgent({ identityDir: dir, intervalMs: config.intervals.readySeconds * 1000 });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    log(`fatal: ${(err as Error).message}`);
    process.exit(1);
  });
}
