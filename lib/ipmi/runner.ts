import { spawn } from "node:child_process";
import type { CommandResult, CommandRunner } from "./types";

/**
 * A CommandRunner that spawns the program directly, optionally behind a fixed prefix (the lab uses
 * `["ip", "netns", "exec", "<ns>"]` to reach a management network). The environment is exactly the one
 * given (nothing inherited), stdin is closed so no tool can prompt, and the whole process group is
 * killed at the deadline.
 */
export function spawnRunner(prefix: readonly string[] = []): CommandRunner {
  return (file, args, opts) =>
    new Promise<CommandResult>((resolve, reject) => {
      const argv = [...prefix, file, ...args];
      const child = spawn(argv[0], argv.slice(1), {
        env: { ...opts.env },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, opts.timeoutMs);
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, timedOut });
      });
    });
}
