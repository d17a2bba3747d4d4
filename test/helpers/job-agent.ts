/**
 * An agent context of compute server dc1-c01 over a real site (site-fixture.ts), with a verified
 * desired state that lists workers of alice's and bob's clusters and alice's scheduler: what the
 * job-certificate tests and `npm run bench -- job-cert` drive obtainJobCertificate with.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAgentConfig } from "../../lib/agent";
import type { InstanceSpec } from "../../lib/contracts/resources";
import { AgentContext } from "../../agents/node/context";
import type { SiteFixture } from "./site-fixture";

export const JOB_NODE_HOST = "c01.dc1.zeroroot.test";

export const workerSpec = (name: string, uid: number, owner: string, role = "worker"): InstanceSpec => ({
  name,
  release: { name: "dask", version: "2022.12.1", manifestDigest: "0".repeat(64) },
  partition: { user: `zr-p${uid}`, uid },
  programs: [],
  endpoints: [],
  holdsData: false,
  minimumPersistenceSeconds: 0,
  parameters: { role, cluster: "c", owner, "zeroroot.owner": owner },
});

/** Registers dc1-c01 at the site and builds its agent context; uids 2101 (alice's worker), 2102 (bob's), 2103 (alice's scheduler). */
export function jobAgent(site: SiteFixture): { ctx: AgentContext; dir: string } {
  site.registry.upsert({
    serverId: "dc1-c01",
    hostname: JOB_NODE_HOST,
    mac: "52:54:00:00:00:21",
    phase: "ready",
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-job-"));
  const computer = site.issue("computer", "dc1-c01");
  const ctx = new AgentContext(
    {
      config: parseAgentConfig({
        serverId: "dc1-c01",
        hostname: JOB_NODE_HOST,
        siteUrl: site.url,
        siteServerName: site.serverName,
        partitions: 4,
        paths: {
          stateDir: path.join(dir, "state"),
          partitionsRoot: path.join(dir, "partitions"),
          releasesDir: path.join(dir, "releases"),
          dpkgStatus: path.join(dir, "status"),
        },
      }),
      rootPem: site.rootPem,
      certificateChainPem: computer.certificateChainPem,
      privateKeyPem: computer.privateKeyPem,
      trust: { authorisation: { signers: [] } as never, crls: [] },
      site: site.client(computer),
      log: () => undefined,
    },
    { isOnline: () => false, channel: () => undefined },
  );
  for (const w of [
    workerSpec("dask-alice-w0", 2101, "dc1/user/alice"),
    workerSpec("dask-bob-w0", 2102, "dc2/user/bob"),
    workerSpec("dask-alice-s", 2103, "dc1/user/alice", "scheduler"),
  ])
    ctx.specs.set(w.name, w);
  return { ctx, dir };
}
