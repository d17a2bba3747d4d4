/**
 * What the agent observes and reports: a /proc sample per pass (usage per partition and
 * abnormal-usage findings, which may stop an instance), and the status document it writes at
 * /computers/<id>/report/status.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { InstanceSpec } from "../../lib/contracts/resources";
import type { ReleaseManifest } from "../../lib/release";
import type { Finding } from "../../lib/agent/anomaly";
import { releaseKey } from "../../lib/agent/releases";
import { agentSwitches } from "../../lib/agent/render";
import type { InstanceRecord } from "../../lib/agent/state";
import type { AgentContext, UsageByPartition } from "./context";
import { observeHost, readPidFile, sampleNode } from "./observe";
import { watchRefusals } from "./refusal-logs";
import { requestOutcomes } from "./requests";
import { tlsFiles } from "./service-cert";
import { Supervisor } from "./supervisor";

/** One /proc sample: usage per partition, abnormal-usage findings and datastore refusals as alerts. */
export async function sampleUsage(ctx: AgentContext): Promise<void> {
  const node = sampleNode();
  const at = Date.now();
  const usage: UsageByPartition = {};
  for (const rec of Object.values(ctx.state.instances)) {
    if (rec.phase === "stopped") continue;
    const p = ctx.paths(rec.partition.user);
    const manifest = (
      ctx.state.releaseDocs[releaseKey(rec.release)]?.signed as { manifest?: ReleaseManifest }
    )?.manifest;
    const spec = ctx.specs.get(rec.name);
    const declared = [
      ...(manifest?.ports ?? []).map((x) => x.port),
      ...(spec?.endpoints ?? []).map((e) => e.port),
    ];
    const r = ctx.detector.observe(
      rec.name,
      { at, partitionUid: rec.partition.uid, supervisordPid: readPidFile(p.pidFile), ...node },
      declared,
    );
    usage[rec.partition.user] = { instance: rec.name, ...r.usage };
    for (const f of r.findings) await anomaly(ctx, rec, f, spec);
  }
  ctx.usage = usage;
  watchRefusals(ctx, at);
}

async function anomaly(
  ctx: AgentContext,
  rec: InstanceRecord,
  f: Finding,
  spec: InstanceSpec | undefined,
): Promise<void> {
  const stop = spec ? agentSwitches(spec).stopOnAnomaly : false;
  ctx.alert(undefined, {
    kind: `anomaly-${f.kind}`,
    severity: "critical",
    instance: rec.name,
    detail: `${f.detail}${stop ? "; the instance is stopped (zeroroot.stopOnAnomaly=true)" : ""}`,
    evidence: { ...f.evidence, partition: rec.partition.user },
  });
  if (stop) {
    await new Supervisor(ctx.paths(rec.partition.user).socket).stopAll();
    ctx.setRecord(rec.name, { ...rec, phase: "stopped" });
    ctx.log(`instance ${rec.name} stopped after ${f.kind}`);
  }
}

/** What the agent reports at /computers/<id>/report/status. */
export async function statusReport(ctx: AgentContext): Promise<Record<string, unknown>> {
  const instances = [];
  for (const rec of Object.values(ctx.state.instances)) {
    let programs: { name: string; state: string; pid: number }[] = [];
    try {
      programs = (await new Supervisor(ctx.paths(rec.partition.user).socket, 2000).processes())
        .filter((x) => x.name !== "zeroroot-wipe")
        .map((x) => ({ name: x.name, state: x.statename, pid: x.pid }));
    } catch {
      programs = [];
    }
    instances.push({
      name: rec.name,
      partition: rec.partition,
      release: rec.release,
      phase: rec.phase,
      createdAt: rec.createdAt,
      holdsData: rec.holdsData,
      minimumPersistenceSeconds: rec.minimumPersistenceSeconds,
      programs,
    });
  }
  const desired = ctx.state.desired;
  const observed = observeHost(ctx.cfg.serverId);
  return {
    computerId: ctx.cfg.serverId,
    at: new Date().toISOString(),
    desired: desired ? { version: desired.version, digest: desired.digest } : null,
    instances,
    refused: Object.fromEntries(ctx.refusals),
    // What drift detection judges (lib/drift/observe reads it): bounded by HOST_REPORT_LIMITS.
    host: observed.host,
    truncated: observed.truncated,
    nftables: observed.nftables,
    certificates: certificates(ctx),
    alerts: ctx.alerts.recent().map((a) => ({
      kind: a.kind,
      severity: a.severity,
      at: a.at,
      detail: a.detail.slice(0, 500),
      instance: a.instance,
    })),
    requests: requestOutcomes(ctx),
  };
}

/** The computer's certificate and each instance's service certificate, with expiry. */
function certificates(ctx: AgentContext): { name: string; subject: string; notAfter: string }[] {
  const out: { name: string; subject: string; notAfter: string }[] = [];
  const add = (name: string, pem: string) => {
    try {
      const c = new X509Certificate(pem);
      out.push({
        name,
        subject: c.subject.replace(/\n/g, ", "),
        notAfter: new Date(c.validTo).toISOString(),
      });
    } catch {
      out.push({ name, subject: "", notAfter: "" }); // unreadable: shown as such, never hidden
    }
  };
  add("computer", ctx.deps.certificateChainPem);
  for (const rec of Object.values(ctx.state.instances)) {
    const f = tlsFiles(ctx.paths(rec.partition.user).instanceDir).cert;
    if (existsSync(f)) add(`service:${rec.name}`, readFileSync(f, "utf8"));
  }
  return out;
}
