/**
 * Operator requests (lib/agent/requests.ts) as the agent acts on them: verified first (signer granted
 * desiredState for this data center, this very computer, current, not replayed), then one of a closed
 * list of actions that never touch data: restart an instance's programs, renew its service
 * certificate. Each outcome is kept (the last MAX_OUTCOMES) and reported in the status report, so the
 * operator who asked sees what happened.
 */
import { verifyAgentRequestText, type AgentRequest } from "../../lib/agent/requests";
import type { AgentContext } from "./context";
import { ensureServiceCertificate } from "./service-cert";
import { Supervisor } from "./supervisor";

const MAX_OUTCOMES = 20;

export interface RequestOutcome {
  readonly id: string;
  readonly action?: string;
  readonly instance?: string;
  readonly outcome: "done" | "refused" | "failed";
  readonly detail: string;
  readonly at: string;
}

const outcomes = new WeakMap<AgentContext, RequestOutcome[]>();
const seen = new WeakMap<AgentContext, Set<string>>();

export function requestOutcomes(ctx: AgentContext): readonly RequestOutcome[] {
  return [...(outcomes.get(ctx) ?? [])];
}

function record(ctx: AgentContext, o: Omit<RequestOutcome, "at">): void {
  const list = outcomes.get(ctx) ?? [];
  list.push({ ...o, at: new Date().toISOString() });
  if (list.length > MAX_OUTCOMES) list.shift();
  outcomes.set(ctx, list);
  ctx.log(`request ${o.id}: ${o.outcome}: ${o.detail}`);
}

/** Verifies one request read from the control plane and acts on it; true when an outcome was recorded. */
export async function handleRequest(ctx: AgentContext, key: string, text: string): Promise<boolean> {
  const ids = seen.get(ctx) ?? new Set<string>();
  seen.set(ctx, ids);
  const t = ctx.trust();
  const v = verifyAgentRequestText(text, {
    root: t.root,
    authorisedSigners: t.authorisation,
    node: t.node,
    crls: t.crls,
    seen: ids,
    now: t.now,
  });
  const id = key.split("/").pop() ?? key;
  if (!v.ok) {
    if (ids.has(`refused:${key}`)) return false; // read again after a reconnection: refused once
    ids.add(`refused:${key}`);
    if (v.reason === "replayed" || v.reason === "expired") return false; // old news, not an attack worth a log line each resync
    record(ctx, { id, outcome: "refused", detail: `${v.reason}: ${v.detail}` });
    ctx.alert(`request:${id}:${v.reason}`, {
      kind: "request-refused",
      severity: "warning",
      detail: `operator request ${id} refused: ${v.reason}: ${v.detail}`,
      evidence: { reason: v.reason },
    });
    return true;
  }
  ids.add(v.request.id);
  try {
    const detail = await act(ctx, v.request);
    record(ctx, {
      id: v.request.id,
      action: v.request.action,
      instance: v.request.instance,
      outcome: "done",
      detail: `${detail} (asked by ${v.signer}: ${v.request.reason})`,
    });
  } catch (e) {
    record(ctx, {
      id: v.request.id,
      action: v.request.action,
      instance: v.request.instance,
      outcome: "failed",
      detail: (e as Error).message,
    });
  }
  return true;
}

async function act(ctx: AgentContext, r: AgentRequest): Promise<string> {
  const rec = ctx.state.instances[r.instance];
  if (!rec) throw new Error(`this node runs no instance ${r.instance}`);
  const p = ctx.paths(rec.partition.user);
  const sup = new Supervisor(p.socket);
  if (r.action === "renew-certificate") {
    if (!ctx.deps.site) throw new Error("the agent has no site to obtain a certificate from");
    await ensureServiceCertificate(p.instanceDir, rec.name, ctx.cfg.hostname, ctx.deps.site, new Date(), {
      force: true,
    });
    // the programs read their certificate at start: restart them so they serve the new one
    await sup.call("supervisor.stopAllProcesses", true);
    await sup.call("supervisor.startAllProcesses", true);
    return `service certificate of ${rec.name} renewed and its programs restarted`;
  }
  // restart-instance: an instance the agent stopped after an anomaly runs again, and programs that
  // stopped or died are started; running ones are left alone.
  if (rec.phase === "stopped") ctx.setRecord(rec.name, { ...rec, phase: "running" });
  await sup.call("supervisor.startAllProcesses", true);
  const states = (await sup.processes())
    .filter((x) => x.name !== "zeroroot-wipe")
    .map((x) => `${x.name}=${x.statename}`);
  return `instance ${rec.name} started (${states.join(", ") || "no program"})`;
}
