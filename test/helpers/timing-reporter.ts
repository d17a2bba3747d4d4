/**
 * Where a test run's time goes: mocha's dot output, then the files that took longest (tests and
 * hooks, wall time inside the worker) and, when TIMING_OUT names a file, every file's sums and the
 * 150 slowest tests and hooks as JSON. Works in parallel mode (workers send hook and test events).
 *
 *   TIMING_OUT=/tmp/unit-times.json npm run test:unit -- --reporter test/helpers/timing-reporter.ts
 *
 * Run in a single process (a config and files, no --parallel) it also records the CPU each test and
 * hook used, its own and that of the child processes it waited for (`cpu`, ms): steadier than wall
 * time on a busy machine. In parallel mode `cpu` means nothing (the work ran in the workers).
 */
import * as fs from "node:fs";
import Mocha from "mocha";

const { EVENT_TEST_END, EVENT_HOOK_END, EVENT_RUN_END, EVENT_SUITE_BEGIN } = Mocha.Runner.constants;

interface FileTimes {
  file: string;
  tests: number;
  testMs: number;
  hookMs: number;
  cpu: number;
}

/** CPU of this process and of its waited-for children, ms. */
function cpuMs(): number {
  const own = process.cpuUsage();
  const stat = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  return (own.user + own.system) / 1000 + (Number(stat[13]) + Number(stat[14])) * 10;
}

class TimingReporter extends Mocha.reporters.Dot {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const files = new Map<string, FileTimes>();
    const items: { kind: string; file: string; title: string; ms: number; cpu: number }[] = [];
    let last = cpuMs();
    const record = (kind: "test" | "hook", r: Mocha.Runnable) => {
      const now = cpuMs();
      const file = (r.file ?? "?").replace(`${process.cwd()}/`, "");
      const f = files.get(file) ?? { file, tests: 0, testMs: 0, hookMs: 0, cpu: 0 };
      files.set(file, f);
      const ms = r.duration ?? 0;
      if (kind === "test") {
        f.tests += 1;
        f.testMs += ms;
      } else f.hookMs += ms;
      f.cpu += now - last;
      // a runnable from a worker is a plain object: its full title is a property, not a method
      const title = typeof r.fullTitle === "function" ? r.fullTitle() : r.title;
      items.push({ kind, file, title, ms, cpu: Math.round(now - last) });
      last = now;
    };
    runner.on(EVENT_SUITE_BEGIN, () => (last = cpuMs()));
    runner.on(EVENT_TEST_END, (t) => record("test", t));
    runner.on(EVENT_HOOK_END, (h) => record("hook", h));
    runner.once(EVENT_RUN_END, () => {
      const list = [...files.values()]
        .map((f) => ({ ...f, cpu: Math.round(f.cpu) }))
        .sort((a, b) => b.testMs + b.hookMs - (a.testMs + a.hookMs));
      items.sort((a, b) => b.ms - a.ms);
      if (process.env.TIMING_OUT)
        fs.writeFileSync(
          process.env.TIMING_OUT,
          JSON.stringify({ files: list, slowest: items.slice(0, 150) }, null, 1),
        );
      process.stdout.write("\n  longest files (ms in tests and hooks, tests):\n");
      for (const f of list.slice(0, 10))
        process.stdout.write(
          `  ${String(f.testMs + f.hookMs).padStart(7)} ${String(f.tests).padStart(4)}  ${f.file}\n`,
        );
    });
  }
}

export = TimingReporter;
