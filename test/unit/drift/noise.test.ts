import { strict as assert } from "node:assert";
import { judgeFleet, recordOf, type DriftRun } from "../../../lib/drift/judge";
import type { RunRecord } from "../../../lib/drift/noise";
import type { ObservedServer } from "../../../lib/drift/observed";
import { findExemption, type Exemption } from "../../../policies/exemptions";
import { cleanObserved, desiredServer, NOW, withReport } from "./fixtures";

const d = desiredServer();
const MIN = 60_000;
const pxe = (): ObservedServer => ({ ...cleanObserved(d), bmc: { power: "on", bootDevice: "pxe" } });
const rootProcess = () =>
  withReport(d, (r) => ({
    ...r,
    host: {
      ...r.host,
      processes: [
        ...(r.host.processes ?? []),
        { pid: 812, name: "sleep", uid: 0, user: "root", capabilities: [], noNewPrivileges: true },
      ],
    },
  }));

/** Runs the sequence of observations 15 minutes apart, each judged against the history before it. */
function sequence(
  observations: ObservedServer[],
  exemptions?: (r: string, x: { urn: string; name: string }) => Exemption | undefined,
): DriftRun[] {
  const history: RunRecord[] = [];
  const runs: DriftRun[] = [];
  observations.forEach((o, i) => {
    const run = judgeFleet([d], [o], {
      now: NOW + i * 15 * MIN,
      stacks: ["dc1"],
      history: [...history],
      exemptions,
    });
    runs.push(run);
    history.push(recordOf(run, 5_000));
  });
  return runs;
}

describe("drift noise control", () => {
  it("a finding seen in consecutive runs is ongoing, with since = the first run of the streak", () => {
    const runs = sequence([cleanObserved(d), pxe(), pxe(), pxe()]);
    const last = runs[3].findings;
    assert.equal(last.length, 1);
    assert.equal(last[0].status, "ongoing");
    assert.equal(last[0].since, runs[1].at);
    assert.equal(runs[1].findings[0].status, "new");
  });

  it("a flapping finding is reported once, as flapping, whether or not this run saw it", () => {
    const runs = sequence([pxe(), cleanObserved(d), pxe(), cleanObserved(d)]);
    const third = runs[2].findings;
    assert.equal(third.length, 1, "once, not once per appearance");
    assert.equal(third[0].status, "flapping");
    assert.equal(third[0].since, runs[0].at);
    const fourth = runs[3].findings;
    assert.equal(fourth.length, 1);
    assert.equal(fourth[0].status, "flapping");
    assert.equal(fourth[0].presentNow, false);
  });

  it("a finding that stopped flipping for the whole window is no longer reported", () => {
    const runs = sequence([
      pxe(),
      cleanObserved(d),
      pxe(),
      ...Array.from({ length: 7 }, () => cleanObserved(d)),
    ]);
    assert.deepEqual(runs[runs.length - 1].findings, []);
  });

  it("history from a run that did not cover the stack does not make a finding flap", () => {
    const history: RunRecord[] = [
      { at: new Date(NOW - 30 * MIN).toISOString(), stacks: ["dc1"], servers: 1, findings: [] },
      { at: new Date(NOW - 20 * MIN).toISOString(), stacks: ["dc2"], servers: 1, findings: [] },
    ];
    const first = judgeFleet([d], [pxe()], { now: NOW - 10 * MIN, stacks: ["dc1"], history });
    const run = judgeFleet([d], [pxe()], {
      now: NOW,
      stacks: ["dc1"],
      history: [...history, recordOf(first, 10)],
    });
    assert.equal(run.findings[0].status, "ongoing");
  });

  it("a live exemption of the policy pack hides a rule-book finding, naming it as exempted", () => {
    const live: Exemption[] = [
      {
        rule: "zero-root",
        resource: "dc1-s01",
        reason: "vendor agent being replaced (TICKET-42)",
        expires: "2026-12-31",
      },
    ];
    const [run] = sequence([rootProcess()], (rule, r) => findExemption(live, rule, r, NOW));
    assert.deepEqual(run.findings, []);
    assert.equal(run.exempted.length, 1);
    assert.equal(run.exempted[0].exemption.expires, "2026-12-31");
  });

  it("an expired exemption no longer hides the finding", () => {
    const expired: Exemption[] = [
      {
        rule: "zero-root",
        resource: "dc1-s01",
        reason: "vendor agent being replaced (TICKET-42)",
        expires: "2026-11-30",
      },
    ];
    const [run] = sequence([rootProcess()], (rule, r) => findExemption(expired, rule, r, NOW));
    assert.equal(run.findings.length, 1);
    assert.equal(run.findings[0].check, "zero-root");
    assert.deepEqual(run.exempted, []);
  });

  it("desired-versus-observed checks are not exemptable: what is desired changes in the stack", () => {
    const any: Exemption[] = [
      { rule: "boot-device", resource: "dc1-s01", reason: "long enough reason here", expires: "2099-01-01" },
    ];
    const [run] = sequence([pxe()], (rule, r) => findExemption(any, rule, r, NOW));
    assert.equal(run.findings.length, 1);
  });

  it("the same finding observed twice in one run is reported once", () => {
    const run = judgeFleet([d, d], [pxe()], { now: NOW, stacks: ["dc1"] });
    assert.equal(run.findings.length, 1);
  });
});
