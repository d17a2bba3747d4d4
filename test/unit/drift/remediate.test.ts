import { strict as assert } from "node:assert";
import { compareServer } from "../../../lib/drift/compare";
import type { DesiredServer } from "../../../lib/drift/desired";
import { applyRemediation, planRemediation, type RemediationActions } from "../../../lib/drift/remediate";
import { cleanObserved, desiredServer, NOW, withProbes, withReport } from "./fixtures";

const DAY = 86_400_000;

/** Everything wrong at once on one server: boot device, stopped instance, certificate, SSH. */
function brokenFindings(d: DesiredServer) {
  const o = withReport(d, (r) => ({
    ...r,
    instances: r.instances.map((i) => ({ ...i, phase: "stopped" })),
    certificates: [
      { name: "service:postgresql", subject: "CN=p", notAfter: new Date(NOW + DAY).toISOString() },
    ],
  }));
  const p = withProbes(d, (x) => ({ ...x, ssh: [{ port: 22, outcome: "accepted", detail: "SSH-2.0" }] }));
  return compareServer(d, { ...o, bmc: { power: "on", bootDevice: "pxe" }, probes: p.probes }, NOW);
}

function recorder(fail?: string) {
  const calls: string[] = [];
  const act = (name: string) => async (_d: DesiredServer, arg?: unknown) => {
    calls.push(`${name}${typeof arg === "string" ? ` ${arg}` : ""}`);
    if (name === fail) throw new Error("BMC did not answer");
  };
  const actions: RemediationActions = {
    setBootDevice: act("setBootDevice"),
    restartInstance: act("restartInstance"),
    renewCertificate: act("renewCertificate"),
    republishDesiredState: act("republishDesiredState"),
    fence: act("fence"),
    escalate: act("escalate"),
  };
  return { calls, actions };
}

describe("drift remediation", () => {
  it("fixes what the platform owns, escalates the SSH server first, and never fences unless the stack says so", async () => {
    const d = desiredServer();
    const findings = brokenFindings(d);
    const { calls, actions } = recorder();
    const out = await applyRemediation(planRemediation(findings), [d], findings, actions);
    assert.deepEqual(calls, [
      "escalate",
      "setBootDevice disk",
      "restartInstance postgresql",
      "renewCertificate service:postgresql",
    ]);
    assert.ok(out.every((o) => o.ok));
  });

  it("fences last, with the evidence, when zeroroot:drift.fence names the check", async () => {
    const d = desiredServer("dc1-s01", { fence: ["ssh-accepted"] });
    const findings = brokenFindings(d);
    let evidence: string[] = [];
    const { calls, actions } = recorder();
    actions.fence = async (_d, e) => {
      calls.push("fence");
      evidence = e.findings.map((f) => f.check);
    };
    await applyRemediation(planRemediation(findings), [d], findings, actions);
    assert.equal(calls[calls.length - 1], "fence");
    assert.deepEqual(evidence, ["ssh-accepted"]);
  });

  it("a failing step is reported and the next steps still run; a hung step times out", async () => {
    const d = desiredServer();
    const findings = brokenFindings(d);
    const { actions } = recorder("setBootDevice");
    actions.restartInstance = () => new Promise(() => undefined);
    const out = await applyRemediation(planRemediation(findings), [d], findings, actions, 50);
    assert.equal(out.find((o) => o.step.action === "setBootDevice")?.error, "BMC did not answer");
    assert.match(out.find((o) => o.step.action === "restartInstance")?.error ?? "", /timed out after 50 ms/);
    assert.equal(out.find((o) => o.step.action === "renewCertificate")?.ok, true);
  });

  it("does nothing for a clean server, and acts once per server however many findings name the same fix", () => {
    const d = desiredServer();
    assert.deepEqual(planRemediation(compareServer(d, cleanObserved(d), NOW)), []);
    const twice = compareServer(
      d,
      withReport(d, (r) => ({ ...r, desired: undefined, instances: [] })),
      NOW,
    );
    assert.deepEqual(
      planRemediation(twice).map((s) => s.action),
      ["republishDesiredState"],
    );
  });
});
