/**
 * Part of `npm run bench -- agent-parts`: the agent's bundle with each control-plane client, used
 * as the agent uses it, against a real three-member etcd with client-certificate auth (the
 * integration tests' cluster): etcd3 + grpc-js (as bundled before) vs client-h2.ts (Node's HTTP/2,
 * messages by hand). Each probe process loads the bundle under AGENT_NODE_FLAGS, opens the agent's
 * three watches (desired state, freshness, a prefix of requests), lists, reads and writes 200
 * times, sits 5 s, and prints its RSS, anonymous memory and CPU time of the 200 rounds. Interleaved,
 * median of ROUNDS.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { AGENT_NODE_FLAGS, bundleAgent } from "../agents/node/bundle";
import { startTestCluster } from "../test/integration/controlplane/etcd-cluster";

const ROUNDS = 3;

/** Runs in the probe process: `identity.json` is a file (no key on a command line). */
const PROBE = `
const { ControlPlaneClient } = require(process.env.BUNDLE);
const cfg = JSON.parse(require("fs").readFileSync(process.env.CONFIG, "utf8"));
const status = () => require("fs").readFileSync("/proc/self/status", "utf8");
const kb = (name) => Number(new RegExp("^" + name + ":\\\\s+(\\\\d+)", "m").exec(status())[1]);
(async () => {
  const c = new ControlPlaneClient({ endpoints: cfg.endpoints, identity: cfg.identity });
  const seen = [];
  await c.watch("/t/desired", { onPut: (k, v) => seen.push(v) });
  await c.watch("/t/freshness", { onPut: () => undefined });
  await c.watch("/t/requests/", { onPut: () => undefined }, { prefix: true });
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < 200; i++) {
    await c.put("/t/status", JSON.stringify({ round: i, pad: "x".repeat(2000) }));
    await c.getEntry("/t/desired");
    await c.list("/t/requests/");
  }
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, 5000));
  process.stdout.write(JSON.stringify({ rss: kb("VmRSS"), anon: kb("RssAnon"), cpuMs: (cpu.user + cpu.system) / 1000 }));
  c.close();
  process.exit(0);
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

interface Sample {
  rss: number;
  anon: number;
  cpuMs: number;
}

function probe(bundle: string, config: string): Sample {
  const r = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, "-e", PROBE], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, BUNDLE: bundle, CONFIG: config },
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`probe of ${bundle}: ${r.stderr.trim().slice(0, 500)}`);
  return JSON.parse(r.stdout) as Sample;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (kb: number) => (kb / 1024).toFixed(1);

export async function compareClients(root: string): Promise<void> {
  const bundles = {
    etcd3: await bundleAgent(path.join(root, "client-etcd3"), { controlPlaneClient: "etcd3" }),
    h2: await bundleAgent(path.join(root, "client-h2"), { controlPlaneClient: "h2" }),
  };
  const cluster = await startTestCluster();
  try {
    const config = path.join(root, "probe.json");
    fs.writeFileSync(config, JSON.stringify({ endpoints: cluster.endpoints, identity: cluster.alice }), {
      mode: 0o600,
    });
    await cluster.etcdctl(["put", "/t/desired", "{}"]);
    const runs = { etcd3: [] as Sample[], h2: [] as Sample[] };
    for (let r = 0; r < ROUNDS; r++) {
      runs.etcd3.push(probe(bundles.etcd3.entry, config));
      runs.h2.push(probe(bundles.h2.entry, config));
    }
    const m = (k: "etcd3" | "h2", f: keyof Sample) => median(runs[k].map((s) => s[f]));
    const line = (k: "etcd3" | "h2") =>
      `${(bundles[k].bytes / 1e6).toFixed(2)} MB source, ${mb(m(k, "rss"))} MB RSS (${mb(m(k, "anon"))} anonymous), ` +
      `${m(k, "cpuMs").toFixed(0)} ms CPU`;
    console.log(
      `the agent's bundle with its control-plane client in use (3 watches, 200 x put+get+list, then 5 s idle; ` +
        `real 3-member etcd, median of ${ROUNDS}): etcd3 + grpc-js ${line("etcd3")}; client-h2 ${line("h2")}; ` +
        `RSS ratio ${(m("h2", "rss") / m("etcd3", "rss")).toFixed(3)}, CPU ratio ${(m("h2", "cpuMs") / m("etcd3", "cpuMs")).toFixed(3)}`,
    );
  } finally {
    await cluster.stop();
  }
}
