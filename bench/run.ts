/**
 * `npm run bench -- <name>`: runs bench/<name>.ts, whose `run()` prints its figures and the
 * ratios against a baseline measured in the same run. Without a name, lists the benchmarks.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

async function main(): Promise<number> {
  const names = readdirSync(__dirname)
    .filter((f) => f.endsWith(".ts") && f !== "run.ts")
    .map((f) => f.replace(/\.ts$/, ""));
  const wanted = process.argv.slice(2);
  if (wanted.length === 0) {
    console.log(`usage: npm run bench -- <name>   (benchmarks: ${names.join(", ")})`);
    return 2;
  }
  for (const name of wanted) {
    if (!names.includes(name)) {
      console.error(`bench: no benchmark "${name}"; known: ${names.join(", ")}`);
      return 2;
    }
    const mod = (await import(join(__dirname, `${name}.ts`))) as { run?: () => Promise<void> };
    if (!mod.run) throw new Error(`bench/${name}.ts exports no run()`);
    await mod.run();
  }
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`bench: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
