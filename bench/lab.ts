/**
 * `npm run bench -- lab` (root; the lab's Debian packages installed): provisioning throughput. From
 * a purged lab each time, `lab up` with 1 server per data center, then with 3; prints both times,
 * the ratio (target <= 1.5: the installs must not run in series) and, for each run, when its main
 * phases ended and the load average (the machine is shared: others' load lengthens both runs).
 * Runs only in a lab of its own: $ZEROROOT_LAB_ID must be set and that lab must not exist yet (no
 * folder, no namespace), since the benchmark purges it before each run and at the end.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { labDown } from "../lab/orchestrate/down";
import { ensureLabImages } from "../lab/orchestrate/image";
import { currentLabId, labPrefixOf } from "../lab/orchestrate/lab-id";
import { labDir, labLayout } from "../lab/orchestrate/layout";
import { labUp } from "../lab/orchestrate/up";

const PHASES: readonly [string, RegExp][] = [
  ["images", /image .*served image|image .*from cache \(/],
  ["control plane", /control plane: /],
  ["sites", /site services serving/],
  ["stacks", /stacks deployed$/],
  ["converged", /every data center deployed/],
];

const loadavg = () => fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

/** Busy CPU seconds of the whole machine so far (all cores; /proc/stat user+nice+system+irq+softirq). */
function busyCpuSeconds(): number {
  const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6]) / 100;
}

/**
 * Timed until every server is installed, enrolled, running and ready ("every data center deployed"):
 * provisioning. What `lab up` waits for after it (datastores healthy) is not an install's work, is
 * not waited for here (datastoreTimeoutMs 1), and is only noted when not there yet.
 */
async function timedUp(serversPerDc: number): Promise<{ seconds: number; cpu: number; phases: string }> {
  await labDown({ purge: true, log: () => undefined });
  const load = loadavg();
  const t0 = Date.now();
  const c0 = busyCpuSeconds();
  const ends = new Map<string, number>();
  let cpuAtDeployed = 0;
  try {
    await labUp({
      serversPerDc,
      datastoreTimeoutMs: 1,
      log: (m) => {
        for (const [name, re] of PHASES) if (re.test(m)) ends.set(name, (Date.now() - t0) / 1000);
        if (PHASES[PHASES.length - 1][1].test(m)) cpuAtDeployed = busyCpuSeconds() - c0;
      },
    });
  } catch (e) {
    if (!ends.has("converged")) throw e;
    console.log(
      `  (after provisioning, lab up said: ${(e as Error).message.split("\n").slice(0, 2).join(" ")})`,
    );
  }
  const seconds = ends.get("converged") as number;
  const cpu = cpuAtDeployed;
  const phases = PHASES.filter(([n]) => ends.has(n))
    .map(([n]) => `${n} ${ends.get(n)!.toFixed(1)} s`)
    .join(", ");
  console.log(
    `lab up, ${serversPerDc} server(s) per data center (${3 * serversPerDc} servers): ${seconds.toFixed(1)} s, ` +
      `machine CPU busy ${cpu.toFixed(0)} s (load average before ${load}, after ${loadavg()})\n  phases ended at: ${phases}`,
  );
  return { seconds, cpu, phases };
}

export async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("bench lab: needs root (the lab makes namespaces); skipped");
    return;
  }
  const id = process.env.ZEROROOT_LAB_ID ? currentLabId() : "";
  const prefix = id ? labPrefixOf(id) : "";
  const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => prefix && l.startsWith(prefix));
  if (!id || fs.existsSync(labDir()) || namespaces.length > 0) {
    console.error(
      `bench lab: purges its lab before each run; give it a lab of its own that does not exist yet: ` +
        `ZEROROOT_LAB_ID=<new id> npm run bench -- lab` +
        (id
          ? ` (lab ${id} exists: ${labDir()}${namespaces.length ? `, ${namespaces.length} namespaces` : ""})`
          : ""),
    );
    process.exitCode = 2;
    return;
  }
  try {
    // The role images' cached bases (mmdebstrap, shared by every lab) are built once, untimed, so
    // that neither run pays for them; what each lab adds to them is timed in both.
    await labDown({ purge: true, log: () => undefined });
    const t = Date.now();
    await ensureLabImages(labLayout(1), () => undefined);
    console.log(`image bases ready in ${((Date.now() - t) / 1000).toFixed(1)} s (untimed warm-up)`);
    const one = await timedUp(1);
    const three = await timedUp(3);
    console.log(
      `ratio 3 per DC / 1 per DC: ${(three.seconds / one.seconds).toFixed(2)}x wall (target <= 1.5), ` +
        `${(three.cpu / one.cpu).toFixed(2)}x machine CPU`,
    );
  } finally {
    await labDown({ purge: true, log: () => undefined });
  }
}
