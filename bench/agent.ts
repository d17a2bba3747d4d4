/**
 * `npm run bench -- agent` (root; etcd and supervisor installed): the platform's own memory on one
 * computer - the image's PID 1 (agents/init/zr-init.py), the bundled node agent and the partitions'
 * supervisords, PSS from /proc/<pid>/smaps_rollup - at 0, 10 and 100 instances, against the
 * targets (< 60 MB base, < 12 MB per busy partition) and against the design it replaces (a
 * supervisord per pre-created partition whether it holds an instance or not, from the idle
 * supervisord measured here). Then the agent alone under each set of Node flags, restarted at 100
 * instances, and the time from a desired-state change to the program running in an empty partition
 * (its supervisord started by PID 1 on the way). First, bench/agent-parts.ts: the bundle and a
 * partition's supervisord each against the form it replaced.
 */
import * as fs from "node:fs";
import { AGENT_NODE_FLAGS } from "../agents/node/bundle";
import { run as compareParts } from "./agent-parts";
import { AgentLab, canRunLab, partitionPrograms, sleep, waitFor } from "../test/lab/agent/harness";
import { hostProcesses, partitionSupervisords } from "../test/lab/agent/helpers";

const INSTANCES = 100;
const PARTITIONS = INSTANCES + 1;
const ROUNDS = 5;
const SETTLE_MS = 20_000;
const FLAG_SETS: readonly (readonly string[])[] = [
  [],
  ["--max-semi-space-size=1"],
  ["--max-semi-space-size=1", "--lite-mode"],
  AGENT_NODE_FLAGS,
];

const pssKb = (pid: number | undefined): number => {
  if (!pid) return 0;
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
};
const rssKb = (pid: number | undefined): number => {
  if (!pid) return 0;
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
};
const mb = (kb: number) => (kb / 1024).toFixed(1);
const running = (lab: AgentLab, i: number, n: number) =>
  partitionPrograms(lab, i).some((p) => p.cmdline === `/bin/sleep 99999.${n}`);

interface Footprint {
  readonly init: number;
  readonly agent: number;
  readonly supervisords: number[];
  /** The agent's resident set: on a server it is the only Node process, so its PSS nears this. */
  readonly agentRss: number;
}

function footprint(lab: AgentLab): Footprint {
  const procs = hostProcesses();
  const sups = Array.from({ length: PARTITIONS }, (_, i) => partitionSupervisords(lab, i, procs)).flat();
  return {
    init: pssKb(lab.init?.hostPid()),
    agent: pssKb(lab.agent?.pid),
    supervisords: sups.map(pssKb),
    agentRss: rssKb(lab.agent?.pid),
  };
}

const total = (f: Footprint) => f.init + f.agent + f.supervisords.reduce((a, b) => a + b, 0);

function line(n: number, f: Footprint, base?: Footprint): string {
  const sup = f.supervisords.reduce((a, b) => a + b, 0);
  const per = base && n > 0 ? ` - ${mb((total(f) - total(base)) / n)} MB per busy partition` : "";
  return `${String(n).padStart(3)} instances: ${mb(total(f))} MB = PID 1 ${mb(f.init)} + agent ${mb(f.agent)} (RSS ${mb(f.agentRss)}) + ${f.supervisords.length} supervisord(s) ${mb(sup)}${per}`;
}

export async function run(): Promise<void> {
  if (!canRunLab()) {
    console.log("bench agent: needs root, /usr/bin/etcd and /usr/bin/supervisord; skipped");
    return;
  }
  console.log(
    `load average at start: ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );
  await compareParts();
  const lab = new AgentLab({
    partitions: PARTITIONS,
    init: true,
    intervals: { reportSeconds: 15, sampleSeconds: 5, resyncSeconds: 30 },
    nodeFlags: AGENT_NODE_FLAGS,
  });
  try {
    await lab.start();
    const base = await lab.publishRelease(
      lab.makeRelease(
        "idle",
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
        `#!/bin/sh\n# idle\nexec /bin/sleep "99999.$1"\n`,
      ),
    );
    const instances = Array.from({ length: INSTANCES }, (_, i) =>
      lab.instance(`idle-${i}`, base, i, { parameters: { n: String(i) } }),
    );
    lab.startAgent();
    await waitFor(async () => (await lab.status()) !== undefined, 60_000, "the agent's first report", 250);
    await sleep(SETTLE_MS);
    console.log(
      `platform memory (PSS; node ${AGENT_NODE_FLAGS.join(" ")}), after ${SETTLE_MS / 1000} s idle:`,
    );
    const f0 = footprint(lab);
    console.log(line(0, f0));
    let f10: Footprint | undefined;
    for (const n of [10, INSTANCES]) {
      await lab.putDesired(instances.slice(0, n));
      const t = Date.now();
      await waitFor(
        () => instances.slice(0, n).every((_, i) => running(lab, i, i)),
        600_000,
        `${n} running`,
        500,
      );
      const took = ((Date.now() - t) / 1000).toFixed(1);
      await sleep(SETTLE_MS);
      const f = footprint(lab);
      if (n === 10) f10 = f;
      console.log(`${line(n, f, f0)} (all running ${took} s after the change)`);
    }
    const idleSup = f10 ? f10.supervisords.reduce((a, b) => a + b, 0) / f10.supervisords.length : 0;
    const f100 = footprint(lab);
    const before = f0.init + f0.agent + PARTITIONS * idleSup;
    console.log(
      `targets: base < 60 MB (${mb(total(f0))} MB), per busy partition < 12 MB (${mb((total(f100) - total(f0)) / INSTANCES)} MB)`,
    );
    console.log(
      `a supervisord per pre-created partition (the design replaced) at 0 instances: ~${mb(before)} MB ` +
        `(${PARTITIONS} x ${mb(idleSup)} MB); ratio now/then at 0 instances ${(total(f0) / before).toFixed(3)}`,
    );

    // the agent alone, restarted at 100 instances under each set of Node flags
    for (const flags of FLAG_SETS) {
      await lab.stopAgent();
      lab.startAgent(flags);
      await waitFor(async () => (await lab.status()) !== undefined, 60_000, "a report", 250);
      await sleep(SETTLE_MS);
      let peak = 0;
      for (let s = 0; s < 10; s++) {
        peak = Math.max(peak, rssKb(lab.agent?.pid));
        await sleep(1000);
      }
      console.log(
        `agent at ${INSTANCES} instances, node ${flags.join(" ") || "(no flags)"}: PSS ${mb(pssKb(lab.agent?.pid))} MB, RSS ${mb(rssKb(lab.agent?.pid))} MB (peak RSS ${mb(peak)} MB over 10 s)`,
      );
    }

    // change -> running in an empty partition: PID 1 starts its supervisord on the way
    const spare = INSTANCES;
    const ms: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      await lab.putDesired([
        ...instances,
        lab.instance(`change-${r}`, base, spare, { parameters: { n: String(1000 + r) } }),
      ]);
      await waitFor(() => running(lab, spare, 1000 + r), 60_000, `change-${r} running`, 5);
      ms.push(performance.now() - t0);
      await lab.putDesired(instances);
      await waitFor(
        () => partitionSupervisords(lab, spare).length === 0,
        60_000,
        `change-${r} partition stopped`,
        50,
      );
    }
    const med = [...ms].sort((x, y) => x - y)[Math.floor(ms.length / 2)];
    console.log(
      `change -> running in an empty partition (median of ${ROUNDS}, supervisord start included): ${med.toFixed(0)} ms`,
    );
    console.log(
      `load average at end: ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
    );
  } finally {
    await lab.close();
  }
}
