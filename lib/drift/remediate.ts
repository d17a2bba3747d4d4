/**
 * `zeroroot drift --remediate`: what the platform fixes itself, and what it escalates. The platform
 * fixes only what it owns and can fix without touching data (the boot device, a stopped instance
 * restarted through its agent, a certificate renewed by a new CSR on the node, the desired state
 * re-signed and re-published); everything else goes to a human as an escalation with its evidence,
 * and a server is fenced (powered off through its BMC) only for the checks its stack's
 * `zeroroot:drift.fence` names. The actions are an interface the observers' side implements
 * (lib/drift/observe/), so this file stays pure and testable with a recording fake.
 */
import type { DesiredServer } from "./desired";
import type { DriftFinding } from "./findings";

/**
 * What an implementation of the actions receives (lib/drift/observe/remediate.ts exports
 * `createRemediationActions(ctx)`): the operator's control-plane client and the servers with their
 * BMC endpoints (passwords included when the stack's secrets could be decrypted).
 */
export interface RemediationContext {
  readonly controlPlane?: import("../controlplane").ControlPlaneClient;
  readonly targets: readonly import("./observe").ObserveTarget[];
}

/** Evidence sent with an escalation or a fence: the findings, as reported. */
export interface Evidence {
  readonly server: string;
  readonly findings: readonly DriftFinding[];
}

export interface RemediationActions {
  /** Sets the next and persistent boot device through the BMC (IPMI, cipher 3/17 only). */
  setBootDevice(server: DesiredServer, device: "disk"): Promise<void>;
  /** Asks the server's agent (through the control plane) to restart one instance's programs. */
  restartInstance(server: DesiredServer, instance: string): Promise<void>;
  /** Has the node renew one certificate (`computer` or `service:<instance>`) by a new CSR. */
  renewCertificate(server: DesiredServer, certificate: string): Promise<void>;
  /** Re-signs and re-publishes the server's desired state (a new version, same content). */
  republishDesiredState(server: DesiredServer): Promise<void>;
  /** Powers the server off through its BMC; called only when its stack's `fence` says so. */
  fence(server: DesiredServer, evidence: Evidence): Promise<void>;
  /** Raises an alert for a human with the evidence (e.g. the site's alert channel). */
  escalate(server: DesiredServer, evidence: Evidence): Promise<void>;
}

export type Step =
  | { readonly action: "setBootDevice"; readonly server: string; readonly device: "disk" }
  | { readonly action: "restartInstance"; readonly server: string; readonly instance: string }
  | { readonly action: "renewCertificate"; readonly server: string; readonly certificate: string }
  | { readonly action: "republishDesiredState"; readonly server: string }
  | { readonly action: "escalate"; readonly server: string; readonly findings: readonly string[] }
  | { readonly action: "fence"; readonly server: string; readonly findings: readonly string[] };

/**
 * The steps for a run's findings, in a safe order per server: escalate first (a human hears of it
 * even if a later step fails), then the platform's own fixes, then a fence last. At most one step
 * of each kind and target per server. A finding only recalled as flapping (absent now) is not acted on.
 */
export function planRemediation(findings: readonly DriftFinding[]): Step[] {
  const steps: Step[] = [];
  const servers = [...new Set(findings.map((f) => f.server))];
  for (const server of servers) {
    const mine = findings.filter((f) => f.server === server && f.presentNow);
    const human = mine.filter((f) => f.remedy === "human");
    if (human.length) steps.push({ action: "escalate", server, findings: human.map((f) => f.key) });
    const seen = new Set<string>();
    const once = (key: string, step: Step) => {
      if (seen.has(key)) return;
      seen.add(key);
      steps.push(step);
    };
    for (const f of mine) {
      if (f.remedy === "setBootDevice") once("boot", { action: "setBootDevice", server, device: "disk" });
      else if (f.remedy === "restartInstance")
        once(`restart ${f.subject}`, {
          action: "restartInstance",
          server,
          instance: f.subject.replace(/^instance /, ""),
        });
      else if (f.remedy === "renewCertificate" && f.subject.startsWith("certificate "))
        once(`renew ${f.subject}`, {
          action: "renewCertificate",
          server,
          certificate: f.subject.replace(/^certificate /, ""),
        });
      else if (f.remedy === "republishDesiredState")
        once("republish", { action: "republishDesiredState", server });
    }
    const fenced = human.filter((f) => f.fence);
    if (fenced.length) steps.push({ action: "fence", server, findings: fenced.map((f) => f.key) });
  }
  return steps;
}

export interface StepOutcome {
  readonly step: Step;
  readonly ok: boolean;
  readonly error?: string;
}

/**
 * Runs the steps one by one (a fix is a change to a live server: never in parallel), each bounded
 * by `timeoutMs`; a failing step is recorded and the next one still runs.
 */
export async function applyRemediation(
  steps: readonly Step[],
  desired: readonly DesiredServer[],
  findings: readonly DriftFinding[],
  actions: RemediationActions,
  timeoutMs = 120_000,
): Promise<StepOutcome[]> {
  const out: StepOutcome[] = [];
  for (const step of steps) {
    const server = desired.find((d) => d.server === step.server);
    if (!server) {
      out.push({ step, ok: false, error: "server not in the desired state" });
      continue;
    }
    const evidence = (keys: readonly string[]): Evidence => ({
      server: step.server,
      findings: findings.filter((f) => keys.includes(f.key)),
    });
    const run = (): Promise<void> => {
      switch (step.action) {
        case "setBootDevice":
          return actions.setBootDevice(server, step.device);
        case "restartInstance":
          return actions.restartInstance(server, step.instance);
        case "renewCertificate":
          return actions.renewCertificate(server, step.certificate);
        case "republishDesiredState":
          return actions.republishDesiredState(server);
        case "escalate":
          return actions.escalate(server, evidence(step.findings));
        case "fence":
          return actions.fence(server, evidence(step.findings));
      }
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      out.push({ step, ok: true });
    } catch (e) {
      out.push({ step, ok: false, error: e instanceof Error ? e.message : String(e) });
    } finally {
      clearTimeout(timer);
    }
  }
  return out;
}
