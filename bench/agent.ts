/**
 * `npm run bench -- agent` (root; etcd and supervisor installed): the node agent on a computer running
 * 100 instances (100 partitions, each with its own supervisord as its own uid), with the agent's
 * production intervals. Prints the agent's resident memory and idle CPU, and the time from a
 * desired-state change to the program running next to the time supervisord itself takes to start the
 * same program (conf.d file + reloadConfig/addProcessGroup over its socket), measured in this run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { partitionName, partitionPaths } from "../lib/hardening";
import { Supervisor } from "../agents/node/supervisor";
import { AgentLab, canRunLab, partitionPrograms, sleep, waitFor } from "../test/lab/agent/harness";

const INSTANCES = 100;
const ROUNDS = 5;
const IDLE_SECONDS = 30;

function procCpuTicks(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}
const rssKb = (pid: number) =>
  Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);

/** The agent's node process: the setpriv/ip netns exec chain exec()s, so it is the spawned pid. */
const running = (lab: AgentLab, i: number, n: number) =>
  partitionPrograms(lab, i).some((p) => p.cmdline === `/bin/sleep 99999.${n}`);

export async function run(): Promise<void> {
  if (!canRunLab()) {
    console.log("bench agent: needs root, /usr/bin/etcd and /usr/bin/supervisord; skipped");
    return;
  }
  const lab = new AgentLab({
    partitions: INSTANCES + 1,
    intervals: { reportSeconds: 15, sampleSeconds: 5, resyncSeconds: 30 },
    // what the image's agent command should pass: a small young generation keeps RSS down
    nodeFlags: ["--max-semi-space-size=1", "--max-old-space-size=64"],
  });
  try {
    let t = Date.now();
    await lab.start();
    console.log(
      `set-up: etcd x3 and ${INSTANCES + 1} partition supervisords in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
    const idle = (n: string) => `#!/bin/sh\n# ${n}\nexec /bin/sleep "99999.$1"\n`;
    const rel = (n: string) =>
      lab.publishRelease(
        lab.makeRelease(
          n,
          "1.0.0",
          0,
          {
            ports: [],
            programs: [
              {
                name: "main",
                command: "{{release.dir}}/bin/serve {{parameters.n}}",
                user: "{{partition.user}}",
              },
            ],
          },
          idle(n),
        ),
      );
    const base = await rel("idle");
    const instances = Array.from({ length: INSTANCES }, (_, i) =>
      lab.instance(`idle-${i}`, base, i, { parameters: { n: String(i) } }),
    );
    await lab.putDesired(instances);
    const agent = lab.startAgent();
    t = Date.now();
    await waitFor(() => instances.every((_, i) => running(lab, i, i)), 300_000, "100 instances running", 250);
    console.log(
      `deploy: ${INSTANCES} instances running ${((Date.now() - t) / 1000).toFixed(1)} s after the agent started`,
    );

    await sleep(10_000);
    const pid = agent.pid as number;
    const c0 = procCpuTicks(pid);
    const w0 = Date.now();
    let peakRss = 0;
    for (let s = 0; s < IDLE_SECONDS; s++) {
      await sleep(1000);
      peakRss = Math.max(peakRss, rssKb(pid));
    }
    const cpuPct = ((procCpuTicks(pid) - c0) / 100 / ((Date.now() - w0) / 1000)) * 100;
    console.log(
      `idle (${INSTANCES} instances, sample 5 s, report 15 s, node --max-semi-space-size=1): agent RSS ${(rssKb(pid) / 1024).toFixed(1)} MB (peak ${(peakRss / 1024).toFixed(1)} MB), CPU ${cpuPct.toFixed(2)} % of one core over ${IDLE_SECONDS} s`,
    );

    // change -> running, through etcd and the agent, in the spare partition
    const spare = INSTANCES;
    const agentMs: number[] = [];
    const putMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const name = `change-${r}`;
      const t0 = performance.now();
      await lab.putDesired([
        ...instances,
        lab.instance(name, base, spare, { parameters: { n: String(1000 + r) } }),
      ]);
      putMs.push(performance.now() - t0);
      await waitFor(() => running(lab, spare, 1000 + r), 30_000, `${name} running`, 5);
      agentMs.push(performance.now() - t0);
      await lab.putDesired(instances);
      await waitFor(() => partitionPrograms(lab, spare).length === 0, 30_000, `${name} removed`, 20);
      // the destroy ends with the partition's wipe program; the next change would queue behind it
      await sleep(2500);
    }
    await sleep(3000); // let the agent finish the last destroy (its wipe program) before touching the partition
    // baseline: supervisord alone starts the same program from a conf.d file
    const p = partitionPaths(partitionName(spare), lab.partitionsRoot);
    const sup = new Supervisor(p.socket);
    const supMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const name = `direct-${r}`;
      const conf = path.join(p.confD, "bench.conf");
      const t0 = performance.now();
      fs.writeFileSync(
        conf,
        `[program:main]\ncommand=${lab.releasesDir}/idle@1.0.0/bin/serve ${2000 + r}\ndirectory=${p.instanceDir}\nautostart=true\nstartsecs=1\n`,
      );
      await sup.update();
      await waitFor(() => running(lab, spare, 2000 + r), 30_000, `${name} running`, 5);
      supMs.push(performance.now() - t0);
      fs.unlinkSync(conf);
      await sup.update();
      await sleep(300);
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const ag = med(agentMs);
    const sd = med(supMs);
    console.log(
      `change -> running (median of ${ROUNDS}): agent path ${ag.toFixed(0)} ms (of which etcdctl put ${med(putMs).toFixed(0)} ms), supervisord alone ${sd.toFixed(0)} ms`,
    );
    console.log(
      `ratio agent/supervisord ${(ag / sd).toFixed(2)}x; agent overhead beyond supervisord's own start ${(ag - sd).toFixed(0)} ms (target < 1000 ms); RSS target < 60 MB`,
    );
  } finally {
    await lab.close();
  }
}
