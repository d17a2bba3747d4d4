/**
 * The remediation actions of `zeroroot drift --remediate` (lib/drift/remediate.ts's interface) on
 * real peers: the BMC (boot device back to disk, fence = power off), and the node's agent, asked
 * through the control plane by a signed request (lib/agent/requests.ts) that it verifies against its
 * own identity and authorisation list before acting — restart an instance's programs, renew a
 * service certificate. Re-publishing the desired state re-signs the published document's content
 * as the next version. Nothing here touches data: no destroy, no wipe, no reinstall.
 *
 * The operator signs with the desired-state signer (the one `pulumi up` uses): an agent obeys only
 * a signer its authorisation list grants `desiredState` for its data center.
 */
import { randomBytes } from "node:crypto";
import { keys, type ControlPlaneClient } from "../controlplane";
import type { BmcClient } from "../ipmi";
import { signAgentRequest, type AgentAction } from "../agent/requests";
import { buildDesiredState, signDesiredState, validateDesiredState } from "../desired-state";
import type { Signer } from "../release";
import type { DesiredServer } from "./desired";
import type { Evidence, RemediationActions } from "./remediate";

export interface RemediationDeps {
  /** An operator's control-plane client. */
  readonly controlPlane: ControlPlaneClient;
  /** The server's BMC client (its credentials come from the stack's secrets, never from here). */
  readonly bmc: (server: DesiredServer) => BmcClient;
  /** The desired-state signer (ZEROROOT_STATE_SIGNER_CERT/KEY). */
  readonly signer: Signer;
  /** Tells a human (the CLI prints it and the history keeps it). @default - an entry under /computers/<id>/escalations/ */
  readonly notify?: (server: DesiredServer, evidence: Evidence, fenced: boolean) => Promise<void>;
  /** How long to wait for the agent to report a request's outcome. @default 90000 */
  readonly agentWaitMs?: number;
  /** @default 1000 */
  readonly pollMs?: number;
  readonly now?: () => Date;
}

interface Outcome {
  readonly id: string;
  readonly outcome: "done" | "refused" | "failed";
  readonly detail: string;
}

export class RemediationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RemediationError";
  }
}

export function remediationActions(deps: RemediationDeps): RemediationActions {
  const now = deps.now ?? (() => new Date());
  const cp = deps.controlPlane;

  /** Writes a signed request for the agent, then waits for the outcome it reports. */
  async function ask(
    server: DesiredServer,
    action: AgentAction,
    instance: string,
    reason: string,
  ): Promise<void> {
    const id = `${now().toISOString().replace(/[:.]/g, "-")}.${randomBytes(4).toString("hex")}.${action}`;
    const signed = signAgentRequest(
      { id, dataCenter: server.dataCenter, computerId: server.server, action, instance, reason },
      deps.signer,
      { now: now() },
    );
    await cp.put(keys.request(server.server, id), JSON.stringify(signed));
    const outcome = await waitOutcome(server.server, id);
    // the request is spent either way: removed so the prefix does not grow
    await cp.delete(keys.request(server.server, id)).catch(() => undefined);
    if (outcome.outcome !== "done")
      throw new RemediationError(
        `the agent of ${server.server} ${outcome.outcome} request ${id}: ${outcome.detail}`,
      );
  }

  async function waitOutcome(computer: string, id: string): Promise<Outcome> {
    const deadline = Date.now() + (deps.agentWaitMs ?? 90_000);
    for (;;) {
      const raw = await cp.get(keys.status(computer)).catch(() => undefined);
      const found = outcomesIn(raw).find((o) => o.id === id);
      if (found) return found;
      if (Date.now() > deadline)
        throw new RemediationError(
          `the agent of ${computer} did not report on request ${id} within ${deps.agentWaitMs ?? 90_000} ms (is it running and online?)`,
        );
      await new Promise((r) => setTimeout(r, deps.pollMs ?? 1000));
    }
  }

  const notify =
    deps.notify ??
    (async (server: DesiredServer, evidence: Evidence, fenced: boolean) => {
      const id = `${now().toISOString().replace(/[:.]/g, "-")}.${randomBytes(4).toString("hex")}`;
      await cp.put(
        `${keys.computer(server.server)}escalations/${id}`,
        JSON.stringify({
          at: now().toISOString(),
          server: server.server,
          fenced,
          findings: evidence.findings.map((f) => ({
            check: f.check,
            subject: f.subject,
            message: f.message,
          })),
        }),
      );
    });

  return {
    async setBootDevice(server, device) {
      await deps.bmc(server).setBootDevice(device, { persistent: true });
    },
    restartInstance: (server, instance) =>
      ask(server, "restart-instance", instance, "drift: instance stopped"),
    async renewCertificate(server, certificate) {
      const m = /^service:([a-z0-9][a-z0-9-]{0,62})$/.exec(certificate);
      if (!m)
        throw new RemediationError(
          `certificate ${JSON.stringify(certificate)} of ${server.server}: only service certificates are renewed by --remediate; a computer certificate is renewed by re-enrolling the server (reinstall through its site)`,
        );
      await ask(server, "renew-certificate", m[1], "drift: certificate near expiry");
    },
    async republishDesiredState(server) {
      const key = keys.desired(server.server);
      const raw = await cp.get(key);
      if (raw === undefined)
        throw new RemediationError(`no desired state is published for ${server.server}; run pulumi up`);
      const doc = validateDesiredState((JSON.parse(raw) as { document?: unknown }).document);
      const validity = Math.round((Date.parse(doc.expiresAt) - Date.parse(doc.issuedAt)) / 1000);
      const next = buildDesiredState({
        ...doc,
        version: doc.version + 1,
        validitySeconds: validity,
        now: now(),
      });
      await cp.put(key, JSON.stringify(signDesiredState(next, deps.signer)));
    },
    async fence(server, evidence) {
      await notify(server, evidence, true);
      await deps.bmc(server).setPower("off");
    },
    escalate: (server, evidence) => notify(server, evidence, false),
  };
}

/** The request outcomes an agent's status report lists (agents/node/requests.ts), tolerating anything. */
export function outcomesIn(raw: string | undefined): Outcome[] {
  try {
    const r = JSON.parse(raw ?? "{}") as { requests?: unknown };
    return Array.isArray(r.requests)
      ? (r.requests as Outcome[]).filter(
          (o) => o && typeof o.id === "string" && typeof o.outcome === "string",
        )
      : [];
  } catch {
    return [];
  }
}
