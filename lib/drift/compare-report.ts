/**
 * The agent's report against the desired state: staleness, the applied desired-state version,
 * instances and releases, certificates, the firewall ruleset, alerts, and the rule book's host
 * rules on the reported host (the same rules the policy pack runs on the desired state).
 */
import { HOST_RULES, hostViewFromObserved, runRule } from "../rules";
import { DRIFT_CHECKS as C, HOST_RULE_CHECKS } from "./checks";
import { expiry, lined, type Add } from "./compare-shared";
import type { DesiredServer } from "./desired";
import { isObservationError, type AgentReportObservation, type ObservedServer } from "./observed";

const RUNNING_PROGRAM = new Set(["RUNNING", "STARTING"]);

export function compareReport(
  d: DesiredServer,
  r: AgentReportObservation,
  o: ObservedServer,
  now: number,
  add: Add,
): void {
  const stale = d.drift.staleReportSeconds;
  if (r.ageSeconds > stale)
    add(C.reportStale, {
      subject: "report",
      message: `the agent's last report is ${Math.round(r.ageSeconds)} s old (written ${r.at}); allowed: ${stale} s`,
      observed: `${Math.round(r.ageSeconds)} s`,
      desired: `at most ${stale} s`,
      location: lined(d.driftLocation, d.location),
    });
  acknowledged(d, r, o, add);
  const reported = new Map(r.instances.map((i) => [i.name, i]));
  for (const want of d.instances) {
    const got = reported.get(want.name);
    const subject = `instance ${want.name}`;
    if (!got) {
      add(C.instanceMissing, {
        subject,
        message: `instance ${want.name} is not reported by the agent`,
        observed: "absent",
        desired: `${want.release.name}@${want.release.version}`,
        location: want.location,
        urn: d.desiredStateUrn,
      });
      continue;
    }
    const runs = `${got.release.name}@${got.release.version}`;
    const wants = `${want.release.name}@${want.release.version}`;
    if (runs !== wants)
      add(C.releaseVersion, {
        subject,
        message: `instance ${want.name} runs ${runs}; its desired state names ${wants}`,
        observed: runs,
        desired: wants,
        location: want.releaseLocation,
        urn: d.desiredStateUrn,
      });
    const down = got.programs.filter((p) => !RUNNING_PROGRAM.has(p.state));
    if (got.phase !== "running" || down.length > 0 || got.programs.length === 0)
      add(C.instanceStopped, {
        subject,
        message: `instance ${want.name} is ${got.phase}${down.length ? `; programs not running: ${down.map((p) => `${p.name} (${p.state})`).join(", ")}` : ""}${got.programs.length === 0 ? "; no program runs" : ""}`,
        observed: got.phase,
        desired: "running, every program RUNNING",
        location: want.location,
        urn: d.desiredStateUrn,
      });
  }
  const wanted = new Set(d.instances.map((i) => i.name));
  for (const got of r.instances)
    if (!wanted.has(got.name))
      add(C.instanceUnexpected, {
        subject: `instance ${got.name}`,
        message: `the agent runs instance ${got.name} (${got.release.name}@${got.release.version}), which the desired state does not name`,
        observed: `${got.release.name}@${got.release.version} (${got.phase})`,
        desired: "absent",
        urn: d.desiredStateUrn,
      });
  for (const c of r.certificates) expiry(d, `certificate ${c.name}`, c.notAfter, now, add);
  // The hash the desired state implies: computed from the stack when known, else the ruleset PID 1
  // listed right after applying the image's file at boot (a hand-made change departs from it).
  const wantedRuleset = d.nftablesSha256 ?? r.nftablesAppliedSha256;
  if (r.nftablesError)
    add(C.sourceUnreadable, {
      subject: "nftables",
      message: `the agent could not report the firewall ruleset: ${r.nftablesError}`,
      observed: r.nftablesError,
      desired: "the live ruleset's hash",
    });
  else if (wantedRuleset && r.nftablesSha256 && wantedRuleset !== r.nftablesSha256)
    add(C.firewall, {
      subject: "nftables",
      message: "the live nftables ruleset differs from the one the desired state implies",
      observed: `sha256 ${r.nftablesSha256}`,
      desired: `sha256 ${wantedRuleset}`,
      location: lined(d.imageLocation, d.location),
      urn: d.imageUrn,
    });
  for (const a of currentAlerts(r, d.drift.alertWindowSeconds))
    add(C.agentAlert, {
      subject: `alert ${a.kind}`,
      message: `the agent raised ${a.severity} alert ${a.kind} at ${a.at}: ${a.detail}`,
      observed: a.detail,
      desired: "no alert",
    });
  hostRules(d, r, add);
}

/**
 * The report's alerts that are still current: raised at most `windowSeconds` before the report was
 * written, both times by the agent's own clock (no skew with the machine drift runs on). An alert
 * whose time is unreadable or later than the report's stays current: a timestamp never hides one.
 * Once the agent stops reporting, its last alerts stay current (and report-stale says why).
 */
export function currentAlerts(
  r: Pick<AgentReportObservation, "at" | "alerts">,
  windowSeconds: number,
): AgentReportObservation["alerts"] {
  const written = Date.parse(r.at);
  return r.alerts.filter((a) => {
    const age = (written - Date.parse(a.at)) / 1000;
    return !(Number.isFinite(age) && age > windowSeconds);
  });
}

/** The rule book's host rules on the host the agent reports: the same rules the pack runs (invariant 8). */
function hostRules(d: DesiredServer, r: AgentReportObservation, add: Add): void {
  const view = hostViewFromObserved({ ...r.host, hostId: d.server });
  const partitionOwner = new Map(d.instances.map((i) => [i.partition.user, i]));
  const byPid = new Map((r.host.processes ?? []).map((p) => [String(p.pid), p]));
  for (const rule of HOST_RULES) {
    const meta = HOST_RULE_CHECKS.find((c) => c.name === rule.name)!;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    for (const f of runRule(rule as any, view)) {
      const pid = /^pid (\d+)/.exec(f.path ?? "")?.[1];
      const proc = pid ? byPid.get(pid) : undefined;
      const owner = proc?.user ? partitionOwner.get(proc.user) : undefined;
      add(meta, {
        subject: f.path ?? rule.name,
        message: f.message,
        observed: f.message,
        desired: rule.remediation,
        severity: f.severity,
        location:
          owner?.location ??
          (f.path?.startsWith("firewall") ? lined(d.imageLocation, d.location) : undefined),
      });
    }
  }
}

function acknowledged(d: DesiredServer, r: AgentReportObservation, o: ObservedServer, add: Add): void {
  const applied = r.desired ? `version ${r.desired.version} (${r.desired.digest})` : "none";
  if (!r.desired) {
    add(C.desiredState, {
      subject: "desired state",
      message: "the agent reports no applied desired state",
      observed: applied,
      desired: "the published desired state",
      urn: d.desiredStateUrn,
    });
    return;
  }
  if (o.published === undefined) return;
  if (isObservationError(o.published)) {
    add(C.sourceUnreadable, {
      subject: "published desired state",
      message: `the published desired state could not be read: ${o.published.error}`,
      observed: o.published.error,
      desired: "readable",
    });
    return;
  }
  const p = o.published;
  if (p.version !== r.desired.version || p.digest !== r.desired.digest)
    add(C.desiredState, {
      subject: "desired state",
      message: `the agent applied ${applied}; the control plane publishes version ${p.version} (${p.digest})`,
      observed: applied,
      desired: `version ${p.version} (${p.digest})`,
      urn: d.desiredStateUrn,
    });
}
