/**
 * Loaded by the integration, fuzz and lab tiers' mocha configs (root hooks). These tiers run without
 * mocha's `exit: true`, so a test that leaves a child process, socket, server or timer open keeps the
 * tier from ending instead of hiding the leak (docs/testing.md). Left alone, that is a CI run that
 * sits silent until its time limit. After the last test, this arms an unref'd timer: a process that
 * exits as it should never sees it fire; one that is still alive EXIT_GRACE_MS later prints what
 * holds it open (handles, with each child's pid and command line) and exits 1 — the leak reported
 * and failed, with the names needed to fix it, within a minute.
 */
import { readFileSync } from "node:fs";

/** 60 s; `ZEROROOT_TEST_EXIT_GRACE_MS` shortens it for test/integration/exit-watch.test.ts. */
const EXIT_GRACE_MS = Number(process.env.ZEROROOT_TEST_EXIT_GRACE_MS) || 60_000;

/** The objects behind the handles the event loop still waits on (Node's own, undocumented view). */
function activeHandles(): unknown[] {
  const p = process as unknown as { _getActiveHandles?: () => unknown[] };
  return typeof p._getActiveHandles === "function" ? p._getActiveHandles() : [];
}

/** One line per handle; Node's public summary of resource kinds when the objects are not available. */
function describeHandles(): string[] {
  const handles = activeHandles();
  if (handles.length === 0) return process.getActiveResourcesInfo();
  return handles.map((h) => {
    const o = h as Record<string, unknown>;
    const kind = (h as object).constructor?.name ?? typeof h;
    if (typeof o.pid === "number") {
      const cmd = commandLineOf(o.pid);
      return `${kind}: child pid ${o.pid} (${String(o.spawnfile)}) ${cmd}`;
    }
    if (typeof o.remoteAddress === "string")
      return `${kind}: socket to ${o.remoteAddress}:${String(o.remotePort)}`;
    if (typeof o.address === "function") {
      try {
        return `${kind}: listening on ${JSON.stringify((o.address as () => unknown).call(h))}`;
      } catch {
        return kind;
      }
    }
    if (o.fd === 1 || o.fd === 2 || o.fd === 0)
      return `${kind}: fd ${String(o.fd)} (the process's own stdio)`;
    return kind;
  });
}

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim().slice(0, 300);
  } catch {
    return "(exited)";
  }
}

export const mochaHooks = {
  afterAll(): void {
    setTimeout(() => {
      const lines = describeHandles();
      process.stderr.write(
        `\nexit-watch: the tier's tests ended ${EXIT_GRACE_MS / 1000} s ago but the process is still held open by:\n` +
          `${lines.map((l) => `  - ${l}`).join("\n") || "  (no handle Node reports: a pending request or worker)"}\n` +
          `A test or the code under test leaked it: close it in the test's after hook. Exiting 1.\n`,
      );
      for (const h of activeHandles()) {
        const o = h as { pid?: unknown; kill?: (s: string) => void };
        if (typeof o.pid === "number" && typeof o.kill === "function") o.kill("SIGKILL");
      }
      // mocha sets the exit code to its failure count in an 'exit' listener of its own; this one,
      // added after it, runs after it
      process.on("exit", () => (process.exitCode = 1));
      process.exit(1);
    }, EXIT_GRACE_MS).unref();
  },
};
