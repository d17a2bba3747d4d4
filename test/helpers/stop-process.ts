/**
 * Stops a child a test started: SIGTERM, up to `graceMs` for it to exit, then SIGKILL and its exit.
 * A child still running when the tests end holds the tier's process open (test/exit-watch.ts fails
 * the tier for it), so every after hook that started one waits for it here rather than signalling
 * and moving on.
 */
import type { ChildProcess } from "node:child_process";

const exitedWithin = (p: ChildProcess, ms: number): Promise<boolean> => {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      p.off("exit", onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer); // left running, it would hold the test process after the last stop
      resolve(true);
    };
    p.once("exit", onExit);
  });
};

export async function stopProcess(p: ChildProcess, graceMs = 5000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill("SIGTERM");
  if (await exitedWithin(p, graceMs)) return;
  p.kill("SIGKILL");
  await exitedWithin(p, 5000);
}
