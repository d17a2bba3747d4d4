/**
 * `npm run bench -- compute`: a user's numpy job (lab/releases/dask/dask_job.py: a logistic
 * regression trained chunk by chunk on the workers, 25 steps x 4 tasks, then scored) on the Dask
 * release's cluster — tls:// with client certificates of a real hierarchy, require-encryption,
 * TLS 1.3, the owner-only guard — next to the same job on a plain Dask cluster (tcp://, no TLS, no
 * guard) of the same shape: one scheduler and two single-thread workers without nannies on this
 * host. Runs alternate between the two (plain, mTLS, plain, mTLS, ...) so drift of the machine hits
 * both; the ratio of the medians is the figure (issue #12's target: <= 1.15x).
 */
import { spawn, type ChildProcess } from "node:child_process";
import {
  cleanup,
  DOMAIN,
  makeHierarchy,
  runJob,
  serviceInstance,
  startProcess,
  stopAll,
  userKit,
  waitForPort,
  type RunningProcess,
} from "../lab/releases/dask/harness";

const RUNS = 5;
const TLS_PORT = 18886;
const PLAIN_PORT = 18986;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function plainProcess(args: string[]): RunningProcess {
  const child: ChildProcess = spawn("/usr/bin/python3", ["-m", ...args], {
    env: { PATH: "/usr/bin:/bin", HOME: "/tmp", LANG: "C.UTF-8" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (out += b.toString()));
  return { child, log: () => out };
}

export async function run(): Promise<void> {
  const h = makeHierarchy(["dc1", "dc2"]);
  const ps: RunningProcess[] = [];
  try {
    const cluster = {
      owner: "dc1/user/alice",
      cluster: "dask-dc1-alice-bench",
      dataCenters: "dc1,dc2",
      schedulerPort: TLS_PORT,
    };
    ps.push(
      startProcess(
        serviceInstance(h, "dc1", `${cluster.cluster}-s.c1.dc1.${DOMAIN}`),
        "scheduler",
        TLS_PORT,
        cluster,
      ),
    );
    await waitForPort(TLS_PORT);
    for (const [k, dc] of [
      [0, "dc1"],
      [1, "dc2"],
    ] as const)
      ps.push(
        startProcess(
          serviceInstance(h, dc, `${cluster.cluster}-w${k}.c1.${dc}.${DOMAIN}`),
          "worker",
          TLS_PORT + 1 + k,
          cluster,
        ),
      );
    ps.push(
      plainProcess([
        "distributed.cli.dask_scheduler",
        "--protocol",
        "tcp",
        "--host",
        "127.0.0.1",
        "--port",
        String(PLAIN_PORT),
        "--no-dashboard",
        "--dashboard-address",
        "127.0.0.1:0",
      ]),
    );
    await waitForPort(PLAIN_PORT);
    for (const k of [0, 1])
      ps.push(
        plainProcess([
          "distributed.cli.dask_worker",
          `tcp://127.0.0.1:${PLAIN_PORT}`,
          "--no-nanny",
          "--nthreads",
          "1",
          "--listen-address",
          `tcp://127.0.0.1:${PLAIN_PORT + 1 + k}`,
          "--no-dashboard",
          "--dashboard-address",
          "127.0.0.1:0",
        ]),
      );
    for (const p of [TLS_PORT + 1, TLS_PORT + 2, PLAIN_PORT + 1, PLAIN_PORT + 2]) await waitForPort(p);
    const kit = userKit(h, "dc1", "alice");
    const times = { plain: [] as number[], mtls: [] as number[] };
    let score: unknown;
    for (let i = 0; i < RUNS; i++) {
      for (const mode of ["plain", "mtls"] as const) {
        const r =
          mode === "plain"
            ? runJob(`tcp://127.0.0.1:${PLAIN_PORT}`, undefined)
            : runJob(`tls://127.0.0.1:${TLS_PORT}`, kit);
        if (r.status !== 0 || r.result.score !== r.result.reference)
          throw new Error(`the ${mode} job failed: ${JSON.stringify(r.result)} ${r.stderr}`);
        score = r.result.score;
        times[mode].push(r.result.seconds as number);
      }
    }
    const plain = median(times.plain);
    const mtls = median(times.mtls);
    console.log(
      `compute: numpy job (25 steps x 4 chunks on 2 workers, score ${String(score)}), ${RUNS} runs each, alternating`,
    );
    console.log(
      `  plain Dask (tcp://, no TLS):              median ${plain.toFixed(3)} s  [${times.plain.map((t) => t.toFixed(2)).join(", ")}]`,
    );
    console.log(
      `  release cluster (mTLS, owner-only guard): median ${mtls.toFixed(3)} s  [${times.mtls.map((t) => t.toFixed(2)).join(", ")}]`,
    );
    console.log(`  ratio mTLS / plain: ${(mtls / plain).toFixed(2)}x (target <= 1.15x)`);
    console.log(
      "  the time to get a job certificate: `npm run bench -- job-cert` (a site over mutual TLS, no lab)",
    );
  } finally {
    stopAll(ps);
    cleanup(h);
  }
}
