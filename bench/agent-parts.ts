/**
 * `npm run bench -- agent-parts` (root, supervisor installed; no lab, ~1 min): the two parts of
 * the platform's memory that `bench agent` cannot compare within one run, each against the form
 * it replaced, measured side by side, interleaved, median of ROUNDS:
 *  - the agent's bundle loaded alone under AGENT_NODE_FLAGS: plain (as bundled before) vs
 *    minified whitespace and syntax, RSS;
 *  - the bundle with each control-plane client in use against a real etcd: etcd3 + grpc-js (as
 *    bundled before) vs client-h2.ts, RSS and CPU (bench/agent-client.ts);
 *  - a busy partition's supervisord (one program, as the agent renders it): with only the
 *    pkg_resources stand-in on its path (before) vs the whole pyshim (sitecustomize.py too), PSS
 *    with SUPERVISORDS of each running, so shared pages are divided as on a busy server.
 * `bench agent` calls it first.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AGENT_NODE_FLAGS, bundleAgent } from "../agents/node/bundle";
import { compareClients } from "./agent-client";
import { partitionName, partitionPaths, partitionUid } from "../lib/hardening";
import { makePartitions } from "../test/lab/agent/node-fixture";
import { sleep, waitFor } from "../test/lab/agent/helpers";

const ROUNDS = 3;
const SUPERVISORDS = 10;
const PYSHIM = path.join(__dirname, "..", "agents", "init", "pyshim");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (kb: number) => (kb / 1024).toFixed(1);
const field = (file: string, name: string): number => {
  try {
    return Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(fs.readFileSync(file, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
};

/** RSS (kB) of a Node process that loaded `bundle` (main() does not run when required) and sat 2 s. */
function bundleRssKb(bundle: string): number {
  const probe =
    `require(${JSON.stringify(bundle)});` +
    `setTimeout(() => process.stdout.write(/VmRSS:\\s+(\\d+)/.exec(require("fs").readFileSync("/proc/self/status", "utf8"))[1]), 2000);`;
  const r = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, "-e", probe], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`loading ${bundle}: ${r.stderr.trim()}`);
  return Number(r.stdout);
}

async function compareBundles(root: string): Promise<void> {
  const plain = (await bundleAgent(path.join(root, "plain"), { minify: false })).entry;
  const minified = (await bundleAgent(path.join(root, "minified"))).entry;
  const kb = { plain: [] as number[], minified: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    kb.plain.push(bundleRssKb(plain));
    kb.minified.push(bundleRssKb(minified));
  }
  const [p, m] = [median(kb.plain), median(kb.minified)];
  console.log(
    `agent bundle loaded alone (node ${AGENT_NODE_FLAGS.join(" ")}, median of ${ROUNDS}): plain ` +
      `${(fs.statSync(plain).size / 1e6).toFixed(2)} MB source ${mb(p)} MB RSS; minified ` +
      `${(fs.statSync(minified).size / 1e6).toFixed(2)} MB source ${mb(m)} MB RSS; ratio ${(m / p).toFixed(3)}`,
  );
}

/** SUPERVISORDS supervisords with `pythonPath` as PID 1 starts them, each running one program; mean PSS. */
async function supervisordsPssKb(root: string, pythonPath: string): Promise<number> {
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < SUPERVISORDS; i++) {
      const p = partitionPaths(partitionName(i), root);
      const conf = path.join(p.supervisorDir, "supervisord.conf");
      children.push(
        spawn(
          "setpriv",
          [
            ...[
              `--reuid=${partitionUid(i)}`,
              `--regid=${partitionUid(i)}`,
              "--clear-groups",
              "--no-new-privs",
            ],
            ...["--inh-caps=-all", "--bounding-set=-all", "--"],
            ...["/usr/bin/supervisord", "--nodaemon", "--configuration", conf],
          ],
          {
            stdio: "ignore",
            cwd: p.home,
            env: { PATH: "/usr/bin:/bin", HOME: p.home, LANG: "C.UTF-8", PYTHONPATH: pythonPath },
          },
        ),
      );
    }
    const sockets = children.map((_, i) =>
      path.join(partitionPaths(partitionName(i), root).supervisorDir, "supervisor.sock"),
    );
    await waitFor(() => sockets.every((s) => fs.existsSync(s)), 60_000, "the supervisords' sockets", 100);
    await sleep(3000); // the program started, start-up garbage collected
    const pss = children.map((c) => field(`/proc/${c.pid}/smaps_rollup`, "Pss"));
    if (pss.some((x) => x === 0)) throw new Error("a supervisord exited; see its log under " + root);
    return pss.reduce((a, b) => a + b, 0) / pss.length;
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode !== null ? r(0) : c.once("exit", r)))),
    );
  }
}

async function compareSupervisords(root: string): Promise<void> {
  const partitions = path.join(root, "partitions");
  makePartitions(partitions, SUPERVISORDS);
  for (let i = 0; i < SUPERVISORDS; i++) {
    const p = partitionPaths(partitionName(i), partitions);
    const program = path.join(p.supervisorDir, "conf.d", "main.conf");
    fs.writeFileSync(program, `[program:main]\ncommand=/bin/sleep 99999.${i}\n`);
    fs.chownSync(program, partitionUid(i), partitionUid(i));
  }
  // before: the pkg_resources stand-in alone on the path
  const before = path.join(root, "pkg-resources-only");
  fs.mkdirSync(before, { mode: 0o755 });
  fs.copyFileSync(path.join(PYSHIM, "pkg_resources.py"), path.join(before, "pkg_resources.py"));
  fs.chmodSync(root, 0o755);
  const kb = { before: [] as number[], now: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    kb.before.push(await supervisordsPssKb(partitions, before));
    kb.now.push(await supervisordsPssKb(partitions, PYSHIM));
  }
  const [b, n] = [median(kb.before), median(kb.now)];
  console.log(
    `a busy partition's supervisord (${SUPERVISORDS} running, one program each, mean PSS, median of ${ROUNDS}): ` +
      `pkg_resources stand-in only ${mb(b)} MB; whole pyshim (sitecustomize.py) ${mb(n)} MB; ratio ${(n / b).toFixed(3)}`,
  );
}

export async function run(): Promise<void> {
  if (process.getuid?.() !== 0 || !fs.existsSync("/usr/bin/supervisord")) {
    console.log("bench agent-parts: needs root and /usr/bin/supervisord; skipped");
    return;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "zr-agent-parts-"));
  try {
    await compareBundles(root);
    await compareClients(root);
    await compareSupervisords(root);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
