/**
 * test/exit-watch.ts: a tier whose tests leave a child process running fails within its grace,
 * naming the child, instead of hanging until CI's time limit; one that leaves nothing exits 0 at once.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "../../..");

/** The integration tier's own config, with only `spec` as its file and a 2 s grace. */
function mochaOn(spec: string) {
  const started = Date.now();
  const r = spawnSync(
    join(ROOT, "node_modules/.bin/mocha"),
    ["--config", join(ROOT, "test/.mocharc.integration.json"), "--reporter", "dot", spec],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, ZEROROOT_TEST_EXIT_GRACE_MS: "2000" },
    },
  );
  return { ...r, seconds: (Date.now() - started) / 1000 };
}

/** A process's state letter from /proc (Z: dead, not yet reaped), or "gone". */
function stateOf(pid: number): string {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))![1];
  } catch {
    return "gone";
  }
}

/** Whether `pid` is dead within 5 s (reaped, or a zombie its new parent has not reaped yet). */
function gone(pid: number): boolean {
  for (let i = 0; i < 50; i++) {
    if (["gone", "Z", "X"].includes(stateOf(pid))) return true;
    spawnSync("sleep", ["0.1"]);
  }
  return false;
}

describe("exit-watch: a tier that cannot end is failed and explained, not left to hang", function () {
  this.timeout(90_000);

  it("exits 1 within its grace, naming the leaked child's command line, which it kills", () => {
    const r = mochaOn(join(__dirname, "leaks-a-child.fixture.ts"));
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /1 passing/, "the spec itself passed: the failure is the leak");
    assert.match(
      r.stderr,
      /exit-watch: the tier's tests ended 2 s ago but the process is still held open by:/,
    );
    assert.match(r.stderr, /child pid (\d+) \(sleep\) sleep 3600/);
    const pid = Number(/child pid (\d+)/.exec(r.stderr)![1]);
    assert.ok(gone(pid), `the leaked child ${pid} was killed: ${stateOf(pid)}`);
  });

  it("leaves a tier that leaks nothing alone: exit 0, no report", () => {
    const r = mochaOn(join(__dirname, "../../unit/lab/stale-image.test.ts"));
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /exit-watch/);
    assert.ok(r.seconds < 30, `took ${r.seconds} s`);
  });
});
