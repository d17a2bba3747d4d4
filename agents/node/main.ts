/**
 * The node agent, run by zr-agent's own supervisord on every installed server. It proves the
 * node's identity: it reports readiness to its site over mutual TLS with the computer
 * certificate, then keeps reporting. It never runs as root and never imports the Pulumi SDK.
 */
import { userInfo } from "node:os";
import { ROUTES, SiteClient, type ReadyReport } from "../../lib/site";
import { loadIdentity } from "./identity";
import { bootId, listeningTcpPorts } from "./observe";

const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} zr-agent: ${msg}\n`);

export async function runAgent(
  opts: { identityDir?: string; intervalMs?: number; once?: boolean } = {},
): Promise<void> {
  if (process.getuid?.() === 0) throw new Error("refusing to run as root (zero root): run as zr-agent");
  const id = loadIdentity(opts.identityDir);
  const site = new SiteClient({
    url: id.siteUrl,
    trust: id.rootPem,
    serverName: id.siteServerName,
    identity: { certificateChainPem: id.certificateChainPem, privateKeyPem: id.privateKeyPem },
  });
  const me = userInfo();
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (require.main === module) {
  log(`starting as ${userInfo().username} (uid ${process.getuid?.()})`);
  runAgent().catch((err: unknown) => {
    log(`fatal: ${(err as Error).message}`);
    process.exit(1);
  });
}
