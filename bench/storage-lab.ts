/**
 * `npm run bench -- storage-lab` (root; also run by `npm run bench -- storage`): the time from the
 * start of `zeroroot lab up` on a purged lab to the Galera cluster Synced (3 members, one per data
 * center, in a primary component), as the issue defines it. `lab up` ends only when the datastores
 * its stacks declare are healthy (lab/orchestrate/datastore-health.ts), so this is the whole way a
 * user waits: network, PKI, images (cached), control plane, sites, BMCs, netboot installs, agents,
 * the releases laid down, install-db, two SSTs.
 *
 * It runs in its own lab (id `$ZR_BENCH_LAB_ID`, default `bench`), purges that lab before and after
 * (`ZR_BENCH_KEEP_LAB=1` keeps it up after), and never touches another lab.
 */
import { checkLabId, LAB_ID_ENV } from "../lab/orchestrate/lab-id";

export interface LabUpTimes {
  /** Seconds from the start of `lab up` to every server read as running and ready. */
  readonly serversReady?: number;
  /** Seconds to the first datastore check that found every Galera member Synced (3 s polling). */
  readonly galeraSynced?: number;
  /** Seconds to every declared datastore healthy (`lab up` returns right after). */
  readonly datastoresHealthy: number;
}

/** Purges the bench's lab, runs `lab up` in it, and times it from its start; tears it down after. */
export async function timeLabUpToSynced(): Promise<LabUpTimes> {
  const id = checkLabId(process.env.ZR_BENCH_LAB_ID ?? "bench", "$ZR_BENCH_LAB_ID");
  if (id === "") throw new Error("$ZR_BENCH_LAB_ID must name a lab of its own, never the user's lab");
  // the lab modules read the id from the environment (and pass it to their child processes)
  process.env[LAB_ID_ENV] = id;
  const { labUp } = await import("../lab/orchestrate/up");
  const { labDown } = await import("../lab/orchestrate/down");
  const quiet = () => undefined;
  await labDown({ purge: true, log: quiet });
  const t0 = Date.now();
  const at = () => (Date.now() - t0) / 1000;
  let serversReady: number | undefined;
  let galeraSynced: number | undefined;
  try {
    await labUp({
      log: (m) => {
        if (process.env.ZR_BENCH_VERBOSE) console.log(`  [lab ${id}] ${m}`);
        if (/every data center deployed/.test(m)) serversReady = at();
        // each change of what is not healthy yet is logged; the first without Galera marks it Synced
        const waiting = /waiting for datastores: (.*)$/.exec(m);
        if (
          galeraSynced === undefined &&
          (waiting ? !/galera/.test(waiting[1]) : /datastores healthy/.test(m))
        )
          galeraSynced = at();
      },
    });
    return { serversReady, galeraSynced, datastoresHealthy: at() };
  } finally {
    if (!process.env.ZR_BENCH_KEEP_LAB) await labDown({ purge: true, log: quiet });
  }
}

export async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("bench storage-lab: needs root (the lab); skipped");
    return;
  }
  const t = await timeLabUpToSynced();
  const s = (x?: number) => (x === undefined ? "?" : `${x.toFixed(1)} s`);
  console.log(
    `lab up (purged lab, cached images) → 3 Galera members Synced: ${s(t.galeraSynced)} ` +
      `(servers ready at ${s(t.serversReady)}; every datastore healthy, lab up returned, at ${s(t.datastoresHealthy)})`,
  );
}
