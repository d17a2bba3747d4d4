/** Runs a child process of `lab up` (a deploy, a convergence), line by line into a log. */
import { spawn } from "node:child_process";

export function runChild(
  argv: readonly string[],
  env: Record<string, string>,
  onLine: (l: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let tail = "";
    const feed = (chunk: Buffer) => {
      const text = tail + chunk.toString("utf8");
      const lines = text.split("\n");
      tail = lines.pop() ?? "";
      lines.filter(Boolean).forEach(onLine);
    };
    child.stdout.on("data", feed);
    child.stderr.on("data", feed);
    child.on("error", reject);
    child.on("close", (code) => {
      if (tail) onLine(tail);
      if (code === 0) resolve();
      else reject(new Error(`exit ${code}`));
    });
  });
}
