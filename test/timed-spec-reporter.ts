/**
 * Mocha's spec reporter, plus the wall time of each top-level suite counted from its first hook to
 * its last (spec prints test bodies only, and a lab file's `before` can take minutes). At the end,
 * the suites by time: CI has a hard limit (README, "CI"), and this is where a run's minutes went.
 */
import Mocha from "mocha";

const { EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_RUN_END } = Mocha.Runner.constants;

class TimedSpecReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const began = new Map<Mocha.Suite, number>();
    const took: { title: string; seconds: number }[] = [];
    const topLevel = (s: Mocha.Suite) => s.parent !== undefined && s.parent.root;
    runner.on(EVENT_SUITE_BEGIN, (s: Mocha.Suite) => {
      if (topLevel(s)) began.set(s, Date.now());
    });
    runner.on(EVENT_SUITE_END, (s: Mocha.Suite) => {
      const t = began.get(s);
      if (t === undefined) return;
      const seconds = (Date.now() - t) / 1000;
      took.push({ title: s.title, seconds });
      Mocha.reporters.Base.consoleLog(`    (${seconds.toFixed(0)} s with its hooks)`);
    });
    runner.once(EVENT_RUN_END, () => {
      if (took.length === 0) return;
      const total = took.reduce((a, t) => a + t.seconds, 0);
      Mocha.reporters.Base.consoleLog(`\n  suites by wall time (${(total / 60).toFixed(1)} min in all):`);
      for (const t of [...took].sort((a, b) => b.seconds - a.seconds))
        Mocha.reporters.Base.consoleLog(`    ${t.seconds.toFixed(0).padStart(5)} s  ${t.title}`);
    });
  }
}

export = TimedSpecReporter;
