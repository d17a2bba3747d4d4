/**
 * Desired against observed, per server: BMC (power, boot device), the agent's report
 * (compare-report.ts) and the probes (compare-probes.ts). Pure: time comes in as `now`.
 */
import { boundObserved } from "./bounds";
import { DRIFT_CHECKS as C, type CheckMeta } from "./checks";
import { compareProbes } from "./compare-probes";
import { compareReport } from "./compare-report";
import type { DesiredServer } from "./desired";
import { FINDING_LIMITS, makeFinding, type DriftFinding, type FindingInput } from "./findings";
import { isObservationError, type ObservedServer } from "./observed";

/** Every finding for one server; `o` undefined means no observer returned anything for it. */
export function compareServer(
  d: DesiredServer,
  raw: ObservedServer | undefined,
  now: number,
): DriftFinding[] {
  const at = new Date(now).toISOString();
  const out: DriftFinding[] = [];
  let dropped = 0;
  // Bounded while it is built: a hostile report of 100,000 root processes costs 200 findings' work.
  const add = (check: CheckMeta, f: FindingInput) => {
    if (out.length < FINDING_LIMITS.findingsPerServer) out.push(makeFinding(d, check, f, at));
    else dropped++;
  };
  const done = () => cap(d, out, dropped, at);
  const unreadable = (source: string, error: string) =>
    add(C.sourceUnreadable, {
      subject: source,
      message: `${source} could not be read: ${error}`,
      observed: error,
      desired: `${source} readable`,
    });
  if (!raw) {
    for (const s of ["bmc", "report", "probes"]) unreadable(s, "no observation was returned for this server");
    return done();
  }
  const { observed: o, truncated } = boundObserved(raw);
  for (const t of truncated) unreadable("report", t);

  let poweredOff = false;
  if (isObservationError(o.bmc)) unreadable("bmc", o.bmc.error);
  else {
    poweredOff = o.bmc.power === "off";
    if (o.bmc.power !== d.power)
      add(C.power, {
        subject: "power",
        message: `the BMC reports power ${o.bmc.power}; the stack wants ${d.power}`,
        observed: o.bmc.power,
        desired: d.power,
      });
    if (o.bmc.power === "on" && o.bmc.bootDevice !== d.bootDevice)
      add(C.bootDevice, {
        subject: "boot device",
        message: `the BMC boots from ${o.bmc.bootDevice}; the stack wants ${d.bootDevice}`,
        observed: o.bmc.bootDevice,
        desired: d.bootDevice,
      });
  }
  // A server that is (or should be) off has no agent and answers no probe: that is one finding, not four.
  if (poweredOff || d.power === "off") return done();

  if (isObservationError(o.report)) unreadable("report", o.report.error);
  else compareReport(d, o.report, o, now, add);
  if (isObservationError(o.probes)) unreadable("probes", o.probes.error);
  else compareProbes(d, o.probes, now, add);
  return done();
}

/** Findings beyond FINDING_LIMITS.findingsPerServer are counted in one last finding, not listed. */
function cap(d: DesiredServer, out: DriftFinding[], dropped: number, at: string): DriftFinding[] {
  if (dropped === 0) return out;
  const more = makeFinding(
    d,
    C.sourceUnreadable,
    {
      subject: "(more)",
      message: `${dropped + 1} more findings on this server were not listed (at most ${FINDING_LIMITS.findingsPerServer} per server)`,
      observed: `${out.length + dropped} findings`,
      desired: `at most ${FINDING_LIMITS.findingsPerServer}`,
    },
    at,
  );
  return [...out.slice(0, -1), more];
}
