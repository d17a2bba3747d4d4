/**
 * `npm run bench -- drift`: one drift sweep over simulated hosts' reports — the judgement side of
 * `zeroroot drift` (the observers' network time is the lab's to measure). Each simulated host has a
 * realistic report: ~140 packages, ~60 processes, 2 instances, 3 certificates, a firewall; one host
 * in ten has drift. Measured at 100 and 1,000 hosts (linearity), with a day of history (96 runs)
 * for noise control, against two baselines measured in the same run: JSON-parsing the same reports
 * (what reading them costs at least) and running only the rule book's host rules on them.
 *
 * Live half: with `ZEROROOT_BENCH_DRIFT_LAB=<lab id>` naming a lab that is up, the real
 * `zeroroot drift --all` runs from its dc1 management namespace (as test/lab/drift does) and its
 * wall time is printed in seconds and per host, next to the simulated judgement's share of it.
 */
import { formatDriftSarif, formatHtml, formatText, judgeFleet, recordOf } from "../lib/drift";
import type { DesiredServer } from "../lib/drift/desired";
import type { RunRecord } from "../lib/drift/noise";
import type { AgentReportObservation, ObservedServer } from "../lib/drift/observed";
import { HOST_RULES, hostViewFromObserved, runRule } from "../lib/rules";
import { cleanObserved, desiredServer } from "../test/unit/drift/fixtures";
import { driftCli } from "../test/lab/drift/cli-run";
import { labDirOf } from "../lab/orchestrate/lab-id";
import { labLayout, savedServersPerDc } from "../lab/orchestrate/layout";

const SIZES = [100, 1_000];
const HISTORY_RUNS = 96;
const REPEAT = 3;

function fleet(n: number, now: number): { desired: DesiredServer[]; observed: ObservedServer[] } {
  const desired: DesiredServer[] = [];
  const observed: ObservedServer[] = [];
  for (let i = 0; i < n; i++) {
    const dc = `dc${(i % 3) + 1}`;
    const base = desiredServer(`${dc}-s${String(i).padStart(4, "0")}`);
    const d: DesiredServer = {
      ...base,
      stack: dc,
      dataCenter: dc,
      instances: [
        ...base.instances,
        {
          ...base.instances[0],
          name: "dask",
          release: { name: "dask", version: "2022.12.1" },
          partition: { user: "zr-p001", uid: 2101 },
          endpoints: [{ ...base.instances[0].endpoints[0], port: 8786 }],
        },
      ],
    };
    const o = cleanObserved(d, now);
    const r = o.report as AgentReportObservation;
    const report: AgentReportObservation = {
      ...r,
      host: {
        ...r.host,
        packages: Array.from({ length: 140 }, (_, k) => `package-${k}`),
        processes: [
          ...(r.host.processes ?? []),
          ...Array.from({ length: 58 }, (_, k) => ({
            pid: 1000 + k,
            name: `worker-${k}`,
            command: `/usr/bin/python3 -m worker --id ${k}`,
            user: "zr-p001",
            uid: 2101,
            capabilities: [] as string[],
            noNewPrivileges: true,
          })),
        ],
      },
    };
    // one host in ten drifted: boot device, or a process as root
    const drifted: ObservedServer =
      i % 10 === 0
        ? { ...o, report, bmc: { power: "on", bootDevice: "pxe" } }
        : i % 10 === 5
          ? {
              ...o,
              report: {
                ...report,
                host: {
                  ...report.host,
                  processes: [
                    ...(report.host.processes ?? []),
                    { pid: 9, name: "sh", uid: 0, user: "root", capabilities: [], noNewPrivileges: true },
                  ],
                },
              },
            }
          : { ...o, report };
    desired.push(d);
    observed.push(drifted);
  }
  return { desired, observed };
}

/**
 * Best of REPEAT, in CPU milliseconds of this process (user + system): the machine is shared, and
 * wall time under other load measures the load. The sweep is single-threaded, so CPU time is the
 * wall time it takes on an idle core.
 */
function time(fn: () => unknown): number {
  let best = Infinity;
  for (let i = 0; i < REPEAT; i++) {
    const c = process.cpuUsage();
    fn();
    const d = process.cpuUsage(c);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return best;
}

export async function run(): Promise<void> {
  const now = Date.now();
  console.log(
    `drift sweep: CPU time, best of ${REPEAT}; history of ${HISTORY_RUNS} runs; one host in ten drifted`,
  );
  // Warm-up: the first sweep pays for the JIT, which no scheduled run repeats per host.
  const warm = fleet(50, now);
  judgeFleet(warm.desired, warm.observed, { now, stacks: ["dc1", "dc2", "dc3"] });
  const rows: string[] = [];
  const perHost: number[] = [];
  for (const n of SIZES) {
    const { desired, observed } = fleet(n, now);
    const reports = observed.map((o) => JSON.stringify(o));
    // A day of runs that saw the same findings (judged once, stamped 15 minutes apart).
    const seen = recordOf(judgeFleet(desired, observed, { now, stacks: ["dc1", "dc2", "dc3"] }), 5_000);
    const history: RunRecord[] = Array.from({ length: HISTORY_RUNS }, (_, h) => ({
      ...seen,
      at: new Date(now - (HISTORY_RUNS - h) * 900_000).toISOString(),
    }));
    const parse = time(() => reports.map((r) => JSON.parse(r) as unknown));
    const rules = time(() =>
      observed.map((o) => {
        const view = hostViewFromObserved((o.report as AgentReportObservation).host);
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        return HOST_RULES.map((rule) => runRule(rule as any, view));
      }),
    );
    let judged: ReturnType<typeof judgeFleet> | undefined;
    const judge = time(() => {
      judged = judgeFleet(desired, observed, { now, stacks: ["dc1", "dc2", "dc3"], history });
    });
    const reportsMs = time(() => [formatText(judged!), formatDriftSarif(judged!), formatHtml(judged!)]);
    const sweep = parse + judge + reportsMs;
    perHost.push(sweep / n);
    rows.push(
      `${String(n).padStart(5)} hosts: parse ${parse.toFixed(0).padStart(5)} ms · rules only ${rules.toFixed(0).padStart(5)} ms · ` +
        `judge (compare + rules + history) ${judge.toFixed(0).padStart(5)} ms · reports ${reportsMs.toFixed(0).padStart(4)} ms · ` +
        `sweep ${(sweep / 1000).toFixed(2)} s = ${(sweep / n).toFixed(2)} ms/host · ` +
        `judge/parse ${(judge / parse).toFixed(1)}x · judge/rules ${(judge / rules).toFixed(1)}x · findings ${judged!.findings.length}`,
    );
  }
  for (const r of rows) console.log(r);
  console.log(
    `linearity: per-host cost at ${SIZES[1]} / at ${SIZES[0]} = ${(perHost[1] / perHost[0]).toFixed(2)} (1.00 = linear); ` +
      `target ${SIZES[1]} hosts < 10 s: ${perHost[1] * SIZES[1] < 10_000 ? "met" : "MISSED"}`,
  );
  liveSweep(perHost[0]);
}

/** `zeroroot drift --all` over a running lab's live hosts, when one is named. */
function liveSweep(judgeMsPerHost: number): void {
  const id = process.env.ZEROROOT_BENCH_DRIFT_LAB;
  if (!id) {
    console.log(
      "live: set ZEROROOT_BENCH_DRIFT_LAB=<lab id> of a lab that is up to time the real command on it",
    );
    return;
  }
  const dir = labDirOf(id);
  if (savedServersPerDc(dir) === undefined) {
    console.log(`live: no lab ${JSON.stringify(id)} in ${dir}; bring it up first (zeroroot lab up)`);
    return;
  }
  process.env.ZEROROOT_LAB_ID = id;
  const lab = labLayout(undefined, dir);
  const hosts = lab.plan.dataCenters.reduce((n, d) => n + d.servers.length, 0);
  const t0 = performance.now();
  const r = driftCli(lab, ["--all", "--format", "json"]);
  const ms = performance.now() - t0;
  const findings = (() => {
    try {
      return String((JSON.parse(r.out) as { findings?: unknown[] }).findings?.length ?? "?");
    } catch {
      return "?";
    }
  })();
  console.log(
    `live: zeroroot drift --all on lab ${id}: ${hosts} hosts in ${(ms / 1000).toFixed(1)} s = ` +
      `${(ms / hosts / 1000).toFixed(2)} s/host (exit ${r.code}, ${findings} finding(s)); the judgement ` +
      `(${judgeMsPerHost.toFixed(2)} ms/host above) is ${((judgeMsPerHost * hosts * 100) / ms).toFixed(2)} % of it — the rest is ` +
      `observing: BMC sessions, reading reports, probing ports`,
  );
  if (r.code !== 0 && r.code !== 2)
    console.log(`live: the command failed: ${r.err.split("\n").slice(-5).join(" | ")}`);
}
