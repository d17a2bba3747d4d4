/**
 * `lab up` says "deployed" only when every server's agent reports, in the control plane, the
 * desired-state version the stacks published as applied, with each of its instances running.
 * "Ready" (converge.ts, the site's view) says only that the agent answers: the data center's
 * timestamp service may not have vouched for the new document yet, and the agent then keeps the last
 * applied state — a test or an operator reading the fleet at that moment would see instances missing.
 * The reports are read as `lab status` reads them (root's etcdctl); waiting is bounded and a failure
 * names each server and what it reports.
 */
import { keys } from "../../lib/controlplane/keys";
import { appliedVersion, publishedVersion } from "../../lib/desired-state";
import { readComputerKeys } from "./computer-keys";
import type { LabLayout } from "./layout";

const POLL_MS = 2_000;
/** A fresh document waits for a freshness statement (at once on a put) and the agent's next report (15 s). */
export const DESIRED_APPLIED_TIMEOUT_MS = 3 * 60_000;

interface ReleaseRef {
  name?: unknown;
  version?: unknown;
  manifestDigest?: unknown;
}
interface StatusReport {
  instances?: { name?: unknown; phase?: unknown; release?: ReleaseRef }[];
}

const refText = (r: ReleaseRef | undefined) => `${String(r?.name)}@${String(r?.version)}`;
const sameRelease = (a: ReleaseRef | undefined, b: ReleaseRef | undefined) =>
  a?.name === b?.name && a?.version === b?.version && a?.manifestDigest === b?.manifestDigest;

/** The instances the published document names, with their releases; [] when it names none readably. */
function desiredInstances(text: string | undefined): { name: string; release?: ReleaseRef }[] {
  try {
    const list = (JSON.parse(text ?? "") as { document?: { instances?: unknown } }).document?.instances;
    return Array.isArray(list)
      ? list.filter(
          (i): i is { name: string; release?: ReleaseRef } =>
            typeof i === "object" && i !== null && typeof (i as { name?: unknown }).name === "string",
        )
      : [];
  } catch {
    return [];
  }
}

/** What keeps each server from having applied its published document; empty when all have. */
export function desiredAppliedProblems(
  servers: readonly string[],
  values: ReadonlyMap<string, string>,
): string[] {
  return servers.flatMap((id) => {
    const published = publishedVersion(values.get(keys.desired(id)));
    if (published === undefined) return []; // no document published for it: nothing to apply
    const text = values.get(keys.status(id));
    if (text === undefined)
      return [`${id}: its agent has not reported yet (desired state version ${published})`];
    let report: StatusReport;
    try {
      report = JSON.parse(text) as StatusReport;
    } catch {
      return [`${id}: its agent's report is not JSON`];
    }
    const applied = appliedVersion(text);
    if (applied !== published)
      return [`${id}: applied desired state version ${applied ?? "none"}, published ${published}`];
    // "retained": removed from the desired state and kept for its persistence window, as wanted.
    const reported = report.instances ?? [];
    const wrong = reported.filter((i) => i.phase !== "running" && i.phase !== "retained");
    // An agent applies a document and keeps an instance on its old release when it refuses the new
    // one (its files not on the server, a digest mismatch): "applied" then does not mean "as wanted".
    const behind = desiredInstances(values.get(keys.desired(id))).flatMap((want) => {
      const got = reported.find((i) => i.name === want.name);
      if (!got) return [`${id}: instance ${want.name} is not reported by its agent`];
      if (want.release && !sameRelease(got.release, want.release))
        return [
          `${id}: instance ${want.name} runs ${refText(got.release)}, its desired state names ${refText(want.release)} (the agent refused it: see its alerts in lab status or zeroroot drift)`,
        ];
      return [];
    });
    return [...wrong.map((i) => `${id}: instance ${String(i.name)} is ${String(i.phase)}`), ...behind];
  });
}

/** Waits until every server applied its published document; returns what is still missing at the deadline. */
export async function waitForDesiredStatesApplied(
  lab: LabLayout,
  log: (m: string) => void,
  timeoutMs = DESIRED_APPLIED_TIMEOUT_MS,
): Promise<string[]> {
  const servers = lab.plan.dataCenters.flatMap((d) => d.servers.map((s) => s.id));
  const t0 = Date.now();
  let problems: string[] = [];
  for (;;) {
    try {
      problems = desiredAppliedProblems(servers, await readComputerKeys(lab, { timeoutSeconds: 5 }));
    } catch (e) {
      problems = [`the control plane cannot be read: ${(e as Error).message.split("\n")[0].slice(0, 200)}`];
    }
    if (problems.length === 0) {
      log(`desired state applied by every agent (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return [];
    }
    if (Date.now() - t0 > timeoutMs) return problems;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
